"""Typed client of the Carbon Mapper API: plume catalog, sources, STAC scenes and products."""

from cm_assets.carbonmapper.budget import BudgetSpec
from cm_assets.carbonmapper.client import CarbonMapperClient, l2b_candidates
from cm_assets.carbonmapper.config import ClientConfig, Credentials, Secret
from cm_assets.carbonmapper.enums import (CollectionId, Gas, Instrument, ProductFamily, Quality,
                                          Sector, parse_sector)
from cm_assets.carbonmapper.errors import (ApiError, AuthenticationError, CarbonMapperError,
                                           NoOverlap, NotGeoreferenced, PlumeNotFound, ProductNotAvailable,
                                           RateLimited, RecordError, SceneNotPublished,
                                           SourceNotFound)
from cm_assets.carbonmapper.geo import GeoArray
from cm_assets.carbonmapper.models import (PlumeCsvRow, PlumeRecord, SceneFootprint, SceneItem,
                                           SceneRef, SourceDetail, SourceSummary)
from cm_assets.carbonmapper.products import PLUME_PRODUCTS, PlumeProducts
from cm_assets.carbonmapper.scenes import L2B_ASSETS, SceneRaster
from cm_assets.carbonmapper.transport import RetryPolicy, Timeouts

__all__ = [
    "ApiError", "AuthenticationError", "BudgetSpec", "CarbonMapperClient", "CarbonMapperError", "ClientConfig",
    "CollectionId", "Credentials", "Gas", "GeoArray", "Instrument", "L2B_ASSETS", "NoOverlap",
    "NotGeoreferenced",
    "PLUME_PRODUCTS", "PlumeCsvRow", "PlumeNotFound", "PlumeProducts", "PlumeRecord",
    "ProductFamily", "ProductNotAvailable", "Quality", "RateLimited", "RecordError", "RetryPolicy",
    "SceneFootprint", "SceneItem", "SceneNotPublished", "SceneRaster", "SceneRef", "Secret",
    "Sector", "SourceDetail", "SourceNotFound", "SourceSummary", "Timeouts", "l2b_candidates",
    "parse_sector",
]
