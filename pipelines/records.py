"""Record models: the contract between acquisition (crawler/) and processing (pipelines/).

Two layers, on purpose:

* ``Scraped*`` models are what a page parser returns: what the page says, as it says it.
  Values that need interpretation (years, runtimes, ratings, dates, kinds) stay raw strings so
  that parsing lives in one place (``pipelines.normalize``) and a failure there can be reported
  with the raw value beside it.
* The strict models (``Film``, ``Review``, ``Offer``, ``Quote``, ``RatingRecord``) are what
  ``pipelines.validate`` accepts after normalization. A record that does not fit goes to
  quarantine with every error, never silently dropped.

The pipelines import nothing from Scrapy; these models are plain pydantic.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# --------------------------------------------------------------------------------------------
# Scraped records (parser output)
# --------------------------------------------------------------------------------------------


class _Scraped(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScrapedTitle(_Scraped):
    """A title the page gives the film besides its display title."""

    title: str
    language: str | None = None  # ISO 639-1 when the page says it ("fr", "cs", "zh")
    region: str | None = None  # ISO 3166-1 alpha-2 when known ("US", "CZ")
    type: Literal["original", "aka", "display"] = "aka"


class ScrapedCredit(_Scraped):
    """A credited person as printed: "Nicolas Cage" as "Ben Sanderson"."""

    name: str
    role: str = "cast"  # cast, director, writer, producer, composer, creator, ...
    character: str | None = None


class ScrapedRating(_Scraped):
    """A rating as printed: value "8,6" on scale "10" with "1 234" votes."""

    source: str  # who rated: the site itself ("imdb"), or "metacritic" shown on imdb, ...
    value: str | None = None  # raw: "8.6", "8,6", "94%", "undefined"
    scale_max: str | None = None  # raw: "10", "5", "100"; None = guess from the value
    count: str | None = None  # raw: "1,234", "1 234", "no reviews"
    kind: Literal[
        "user_average", "user_share", "critic_share", "critic_average", "weighted_critic"
    ] = "user_average"


class FilmRef(_Scraped):
    """How a review, quote or offer names the film it is about.

    Everything the page offers that helps identity: the title as printed, a year, the film
    page URL, external ids, director names, and character names (speakers in quotes).
    """

    title: str | None = None
    year: str | None = None
    url: str | None = None
    external_ids: dict[str, str] = Field(default_factory=dict)
    directors: list[str] = Field(default_factory=list)
    characters: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)


class ScrapedFilm(_Scraped):
    """A film (or series, episode, concert, ...) page as the page states it."""

    type: Literal["film"] = "film"
    site: str
    url: str
    title: str | None = None
    original_title: str | None = None
    titles: list[ScrapedTitle] = Field(default_factory=list)
    year: str | None = None  # raw "1995", "(1995)", "2018–"
    release_date: str | None = None  # raw "8 September 1960 (USA)", "1995-10-27"
    kind: str | None = None  # raw hint: "Concerts, Music, Documentary", "TVSeries", "TV Movie"
    runtime: str | None = None  # raw "61", "1h 51m", "PT1H51M", "2 hr. 11 min."
    credits: list[ScrapedCredit] = Field(default_factory=list)
    genres: list[str] = Field(default_factory=list)
    external_ids: dict[str, str] = Field(default_factory=dict)  # {"imdb": "tt0113627"}
    ratings: list[ScrapedRating] = Field(default_factory=list)
    synopsis: str | None = None
    poster_url: str | None = None
    series: str | None = None  # episodes/seasons: the series' title as printed
    season: str | None = None  # raw "4", "Season 4"
    episode: str | None = None  # raw "13", "Episode 13"


class ScrapedReview(_Scraped):
    type: Literal["review"] = "review"
    site: str
    url: str
    film: FilmRef
    author: str | None = None
    published_at: str | None = None  # raw "2022-08-19 13:55:03", "August 19, 2022"
    title: str | None = None
    body: str | None = None
    rating: ScrapedRating | None = None
    critic: bool = False


class ScrapedOffer(_Scraped):
    type: Literal["offer"] = "offer"
    site: str
    url: str
    film: FilmRef
    provider: str | None = None
    country: str | None = None  # raw "US", "United States"
    monetization: str | None = None  # raw "Stream", "flatrate", "Rent", "Buy", "Free", "Ads"
    quality: str | None = None  # "SD", "HD", "4K"
    price: str | None = None  # raw "$3.99", "3,99 €"
    currency: str | None = None
    offer_url: str | None = None


class QuoteLine(_Scraped):
    speaker: str | None = None
    text: str


class ScrapedQuote(_Scraped):
    type: Literal["quote"] = "quote"
    site: str
    url: str
    film: FilmRef
    lines: list[QuoteLine] = Field(default_factory=list)


class ScrapedRatingRecord(_Scraped):
    """A rating shown on a page that is not the film's own page (search rows, lists)."""

    type: Literal["rating"] = "rating"
    site: str
    url: str
    film: FilmRef
    rating: ScrapedRating


ScrapedRecord = ScrapedFilm | ScrapedReview | ScrapedOffer | ScrapedQuote | ScrapedRatingRecord


class PageRejected(_Scraped):
    """A page that yielded no usable record, and why: it goes to quarantine, counted."""

    type: Literal["rejected"] = "rejected"
    site: str
    url: str
    reason: str  # short slug: empty_body, no_film_data/<why>, page_too_large, http_error, ...
    detail: str = ""
    raw: str | None = None  # a bounded excerpt of the payload, for the quarantine row
    quarantine: bool = True  # False for ordinary non-film pages (listings, search): counted only


class PageFetched(_Scraped):
    """A page was fetched, or answered 304 Not Modified: what the crawl learned of the page
    itself, emitted after its records. Staging keeps its validators for conditional requests
    and its fetch times for the refresh policy, notices offers that vanished from it, and
    closes quarantine entries it no longer earns."""

    type: Literal["page"] = "page"
    site: str
    url: str
    status: int
    etag: str | None = None
    last_modified: str | None = None
    kind: Literal["film", "review", "listing", "sitemap", "other"] = "other"
    links: list[tuple[str, str]] = Field(default_factory=list)  # (callback name, URL) it led to


# --------------------------------------------------------------------------------------------
# Validated records (after normalize)
# --------------------------------------------------------------------------------------------


class Kind(StrEnum):
    feature = "feature"
    short = "short"
    documentary = "documentary"
    concert = "concert"
    tv_movie = "tv_movie"
    tv_special = "tv_special"
    tv_series = "tv_series"
    tv_miniseries = "tv_miniseries"
    tv_season = "tv_season"
    tv_episode = "tv_episode"
    video = "video"
    video_game = "video_game"
    unknown = "unknown"


class Monetization(StrEnum):
    flatrate = "flatrate"
    rent = "rent"
    buy = "buy"
    free = "free"
    ads = "ads"


NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
Year = Annotated[int, Field(ge=1870, le=2100)]
ISODateTime = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=False)


class Title(_Strict):
    title: NonEmpty
    language: str | None = None
    region: str | None = None
    type: Literal["original", "aka", "display"] = "aka"


class Credit(_Strict):
    name: NonEmpty
    role: NonEmpty
    character: str | None = None
    order: int = 0


class Rating(_Strict):
    source: NonEmpty
    raw: str
    scale_max: float = Field(gt=0)
    value_100: float = Field(ge=0, le=100)
    count: int | None = Field(default=None, ge=0)
    kind: Literal["user_average", "user_share", "critic_share", "critic_average", "weighted_critic"]


class Ref(_Strict):
    """A normalized film reference (see ``FilmRef``)."""

    title: str | None = None
    year: Year | None = None
    url: str | None = None
    external_ids: dict[str, str] = Field(default_factory=dict)
    directors: list[str] = Field(default_factory=list)
    characters: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)


class Film(_Strict):
    type: Literal["film"] = "film"
    site: NonEmpty
    url: NonEmpty
    title: NonEmpty
    original_title: str | None = None
    titles: list[Title] = Field(default_factory=list)
    year: Year | None = None
    release_date: ISODateTime | None = None
    kind: Kind = Kind.unknown
    runtime_minutes: int | None = Field(default=None, ge=1, le=2000)
    credits: list[Credit] = Field(default_factory=list)
    genres: list[str] = Field(default_factory=list)
    external_ids: dict[str, str] = Field(default_factory=dict)
    ratings: list[Rating] = Field(default_factory=list)
    synopsis: str | None = None
    poster_url: str | None = None
    series_title: str | None = None
    season: int | None = Field(default=None, ge=0)
    episode: int | None = Field(default=None, ge=0)

    @property
    def directors(self) -> list[str]:
        return [c.name for c in self.credits if c.role == "director"]

    @property
    def cast(self) -> list[Credit]:
        return [c for c in self.credits if c.role == "cast"]


class Review(_Strict):
    type: Literal["review"] = "review"
    site: NonEmpty
    url: NonEmpty
    film: Ref
    author: str | None = None
    published_at: ISODateTime | None = None
    title: str | None = None
    body: NonEmpty | None = None  # a rating-only review has no text; one of the two is needed
    rating: Rating | None = None  # (checked by pipelines.validate: reason missing_body)
    critic: bool = False


class Offer(_Strict):
    type: Literal["offer"] = "offer"
    site: NonEmpty
    url: NonEmpty
    film: Ref
    provider: NonEmpty
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    monetization: Monetization | None = None
    quality: str | None = None
    price: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    offer_url: str | None = None


class Line(_Strict):
    speaker: str | None = None
    text: NonEmpty


class Quote(_Strict):
    type: Literal["quote"] = "quote"
    site: NonEmpty
    url: NonEmpty
    film: Ref
    lines: list[Line] = Field(min_length=1)


class RatingRecord(_Strict):
    type: Literal["rating"] = "rating"
    site: NonEmpty
    url: NonEmpty
    film: Ref
    rating: Rating


Record = Film | Review | Offer | Quote | RatingRecord

STRICT_MODELS: dict[str, type[BaseModel]] = {
    "film": Film,
    "review": Review,
    "offer": Offer,
    "quote": Quote,
    "rating": RatingRecord,
}
