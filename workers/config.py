"""How a batch runs: worker count and the resources each model-holding actor takes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BatchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workers: int = Field(0, ge=0, description="analysis actors; 0 = one per CPU (a GPU each, where there are GPUs)")
    cpus_per_worker: float = Field(1.0, gt=0)
    gpus_per_worker: float = Field(
        -1.0, description="GPUs per actor; -1 = one each when the cluster has GPUs, else none"
    )
    address: str | None = Field(
        None, description="Ray cluster to join (HOST:PORT of the head); empty starts a new Ray inside the process"
    )
    connect_timeout_s: float = Field(
        5.0, gt=0, description="seconds the cluster at `address` has to answer before the batch gives up"
    )
    retry_failed: bool = Field(False, description="analyse again recordings stored as failed")
