"""Relation type names, and which type is the inverse of which.

Third-party plugins import the names from here instead of spelling strings; the engine uses
``INVERSE`` to add the other direction of every relation a plugin reports. The OpenChoreo names are
the literal values of the official module's ``RELATION_*`` constants; the rest are Backstage's.
"""

from __future__ import annotations

# Backstage standard relations.
OWNED_BY = "ownedBy"
OWNER_OF = "ownerOf"
PART_OF = "partOf"
HAS_PART = "hasPart"
PROVIDES_API = "providesApi"
API_PROVIDED_BY = "apiProvidedBy"
CONSUMES_API = "consumesApi"
API_CONSUMED_BY = "apiConsumedBy"
DEPENDS_ON = "dependsOn"
DEPENDENCY_OF = "dependencyOf"
PARENT_OF = "parentOf"
CHILD_OF = "childOf"
MEMBER_OF = "memberOf"
HAS_MEMBER = "hasMember"

# OpenChoreo relations.
DEPLOYS_TO = "deploysTo"
DEPLOYED_BY = "deployedBy"
USES_PIPELINE = "usesPipeline"
PIPELINE_USED_BY = "pipelineUsedBy"
HOSTED_ON = "hostedOn"
HOSTS = "hosts"
OBSERVED_BY = "observedBy"
OBSERVES = "observes"
BUILDS_ON = "buildsOn"
BUILDS = "builds"
INSTANCE_OF = "instanceOf"
HAS_INSTANCE = "hasInstance"
USES_WORKFLOW = "usesWorkflow"
WORKFLOW_USED_BY = "workflowUsedBy"
NOTIFIES = "notifies"
NOTIFIED_BY = "notifiedBy"

_PAIRS: tuple[tuple[str, str], ...] = (
    (OWNED_BY, OWNER_OF),
    (PART_OF, HAS_PART),
    (PROVIDES_API, API_PROVIDED_BY),
    (CONSUMES_API, API_CONSUMED_BY),
    (DEPENDS_ON, DEPENDENCY_OF),
    (PARENT_OF, CHILD_OF),
    (MEMBER_OF, HAS_MEMBER),
    (DEPLOYS_TO, DEPLOYED_BY),
    (USES_PIPELINE, PIPELINE_USED_BY),
    (HOSTED_ON, HOSTS),
    (OBSERVED_BY, OBSERVES),
    (BUILDS_ON, BUILDS),
    (INSTANCE_OF, HAS_INSTANCE),
    (USES_WORKFLOW, WORKFLOW_USED_BY),
    (NOTIFIES, NOTIFIED_BY),
)

INVERSE: dict[str, str] = {a: b for a, b in _PAIRS} | {b: a for a, b in _PAIRS}


def inverse_of(relation_type: str) -> str | None:
    return INVERSE.get(relation_type)
