"""The knowledge base: entities and their ownership, SDK signatures, data categories, sensitive APIs.

Data lives in ``kb/data/`` as JSON files with a source URL and an as-of date on every row; see
``docs/kb.md``. ``load_kb()`` validates it against the JSON Schemas in ``kb/data/schema/`` and
compiles the lookups used by the analysis passes.
"""

from appvet.kb.knowledge import KnowledgeBase
from appvet.kb.loader import load_kb
from appvet.kb.model import (
    BanList,
    BannedApp,
    CountryList,
    DataCategoryInfo,
    Entity,
    JurisdictionProfile,
    LawFact,
    OwnershipChange,
    Sdk,
    SensitiveApi,
)

__all__ = [
    "BanList",
    "BannedApp",
    "CountryList",
    "DataCategoryInfo",
    "Entity",
    "JurisdictionProfile",
    "KnowledgeBase",
    "LawFact",
    "OwnershipChange",
    "Sdk",
    "SensitiveApi",
    "load_kb",
]
