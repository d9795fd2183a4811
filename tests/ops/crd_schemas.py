"""Structural schemas of the operator resources chibo deploys (no CRD is bundled with kubernetes-validate).

They hold the fields chibo relies on, as the operators' CRDs define them (RabbitMQ Cluster Operator
v1beta1, CloudNativePG v1, KEDA v1alpha1): a typo or a wrong type in these is caught offline.
"""

from typing import Any

QUANTITY = {"anyOf": [{"type": "string", "pattern": r"^[0-9.]+(m|Ki|Mi|Gi|Ti)?$"}, {"type": "integer"}]}
RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "requests": {"type": "object", "additionalProperties": QUANTITY},
        "limits": {"type": "object", "additionalProperties": QUANTITY},
    },
}
SECRET_KEY = {
    "type": "object",
    "required": ["name", "key"],
    "additionalProperties": False,
    "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
}


def _resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}},
            },
            "spec": spec,
        },
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "RabbitmqCluster": _resource(
        "rabbitmq.com/v1beta1",
        "RabbitmqCluster",
        {
            "type": "object",
            "required": ["replicas"],
            "additionalProperties": False,
            "properties": {
                "replicas": {"type": "integer", "minimum": 1},
                "image": {"type": "string"},
                "resources": RESOURCES,
                "persistence": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"storage": QUANTITY, "storageClassName": {"type": "string"}},
                },
                "rabbitmq": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "additionalPlugins": {"type": "array", "items": {"type": "string"}},
                        "additionalConfig": {"type": "string"},
                        "advancedConfig": {"type": "string"},
                    },
                },
                "affinity": {"type": "object"},
                "tolerations": {"type": "array"},
                "service": {"type": "object"},
            },
        },
    ),
    "Cluster": _resource(
        "postgresql.cnpg.io/v1",
        "Cluster",
        {
            "type": "object",
            "required": ["instances", "storage"],
            "additionalProperties": False,
            "properties": {
                "instances": {"type": "integer", "minimum": 1},
                "imageName": {"type": "string"},
                "primaryUpdateStrategy": {"enum": ["unsupervised", "supervised"]},
                "storage": {
                    "type": "object",
                    "required": ["size"],
                    "additionalProperties": False,
                    "properties": {"size": QUANTITY, "storageClass": {"type": "string"}},
                },
                "resources": RESOURCES,
                "bootstrap": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "initdb": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"database": {"type": "string"}, "owner": {"type": "string"}},
                        },
                        "recovery": {"type": "object"},
                    },
                },
                "postgresql": {
                    "type": "object",
                    "properties": {"parameters": {"type": "object", "additionalProperties": {"type": "string"}}},
                },
                "backup": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["barmanObjectStore"],
                    "properties": {
                        "retentionPolicy": {"type": "string", "pattern": r"^[1-9][0-9]*[dwm]$"},
                        "barmanObjectStore": {
                            "type": "object",
                            "required": ["destinationPath"],
                            "additionalProperties": False,
                            "properties": {
                                "destinationPath": {"type": "string", "pattern": "^(s3|gs|https?)://"},
                                "endpointURL": {"type": "string"},
                                "s3Credentials": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {"accessKeyId": SECRET_KEY, "secretAccessKey": SECRET_KEY},
                                },
                                "wal": {"type": "object"},
                                "data": {"type": "object"},
                            },
                        },
                    },
                },
                "externalClusters": {"type": "array"},
                "monitoring": {"type": "object"},
            },
        },
    ),
    "ScheduledBackup": _resource(
        "postgresql.cnpg.io/v1",
        "ScheduledBackup",
        {
            "type": "object",
            "required": ["schedule", "cluster"],
            "additionalProperties": False,
            "properties": {
                "schedule": {"type": "string", "pattern": r"^(\S+ ){5}\S+$"},  # six fields: seconds first
                "backupOwnerReference": {"enum": ["none", "self", "cluster"]},
                "cluster": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                "method": {"enum": ["barmanObjectStore", "volumeSnapshot", "plugin"]},
            },
        },
    ),
    "ScaledObject": _resource(
        "keda.sh/v1alpha1",
        "ScaledObject",
        {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer"},
                "cooldownPeriod": {"type": "integer"},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"},
                            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                            "authenticationRef": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
    ),
    "TriggerAuthentication": _resource(
        "keda.sh/v1alpha1",
        "TriggerAuthentication",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["parameter", "name", "key"],
                        "additionalProperties": False,
                        "properties": {
                            "parameter": {"type": "string"},
                            "name": {"type": "string"},
                            "key": {"type": "string"},
                        },
                    },
                }
            },
        },
    ),
}
