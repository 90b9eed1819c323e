"""Python client of the Amago service.

The core (:class:`Client`, the errors and result dataclasses) uses the standard library only.
:mod:`amago_client.gym` runs gymnasium environments against an external experiment and needs the
``gym`` extra (``pip install 'amago-client[gym]'``).
"""

from .client import TERMINAL_STATUSES, Client
from .errors import (
    AmagoError,
    Conflict,
    Gone,
    InvalidInput,
    NotFound,
    ServerError,
    TooLarge,
    TransportError,
    Unauthorized,
    UnexpectedStatus,
)
from .models import (
    Action,
    ActResult,
    BatchResult,
    Checkpoint,
    Episode,
    MetricPoint,
    MetricSeries,
    Step,
    StepResult,
    UploadResult,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "TERMINAL_STATUSES",
    "AmagoError",
    "Conflict",
    "Gone",
    "InvalidInput",
    "NotFound",
    "ServerError",
    "TooLarge",
    "TransportError",
    "Unauthorized",
    "UnexpectedStatus",
    "Action",
    "ActResult",
    "BatchResult",
    "Checkpoint",
    "Episode",
    "MetricPoint",
    "MetricSeries",
    "Step",
    "StepResult",
    "UploadResult",
]
