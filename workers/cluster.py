"""Where a batch's Ray runs: a new Ray inside this process, or the cluster named by ``--address``.

Ray's own ``ray.init()`` without an address joins whatever cluster the machine remembers (``RAY_ADDRESS``,
or the last ``ray start`` recorded in ``<tmp>/ray/ray_current_cluster``), so a local batch could run on
someone else's cluster, or retry a dead one's GCS for minutes. A batch joins a cluster only when asked:
without an address it passes ``"local"``, which Ray 2.60 reads as "start a new instance here" before it
looks at either record.

With an address, the head's GCS is asked for the cluster's live nodes first: one gRPC call with a short
deadline, carrying the token header Ray itself would send. Clusters that Ray 2.60's ``ray start --head``
makes use token authentication; a client without ``RAY_AUTH_MODE=token`` would otherwise retry for 20 s and
end in a traceback of Ray's internals. The probe turns each refusal into one line that says what to set. The
same answer shows whether one of the cluster's nodes runs on this machine: Ray attaches a driver to a
local node and, where there is none, searches for one for a minute before it fails.
"""

from __future__ import annotations

import logging
import os

import grpc
import ray

from engine.errors import CallQAError

log = logging.getLogger(__name__)

LOCAL = "local"
TOKEN_HELP = ("Set RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN, or in a token file "
              "(RAY_AUTH_TOKEN_PATH, default ~/.ray/auth_token); `ray get-auth-token` on the head prints it")
# Ray's log lines would only repeat, less clearly, what a batch reports itself.
_QUIET = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}


class ClusterError(CallQAError):
    """A Ray cluster the batch was asked to join and cannot."""

    reason = "cluster"


class ClusterUnreachable(ClusterError):
    reason = "cluster_unreachable"


class ClusterToken(ClusterError):
    """The cluster wants a token the environment does not provide (or provides wrongly)."""

    reason = "cluster_token"


def start_ray(address: str | None, connect_timeout_s: float) -> None:
    """Join the cluster at ``address``, or start Ray inside this process when there is none.

    Raises ``ClusterError`` (one line: what is wrong and what to set) when the cluster cannot be joined.
    """
    if ray.is_initialized():
        return
    if not address or address == LOCAL:
        if os.environ.get("RAY_ADDRESS"):
            log.warning("RAY_ADDRESS is set but a batch joins a cluster only with --address; starting Ray here")
        ray.init(address=LOCAL, **_QUIET)
        return
    # Ray Client addresses (ray://) speak another protocol; Ray reports their failures itself.
    target = address if "://" in address else _answering_cluster(address, connect_timeout_s)
    try:
        ray.init(address=target, **_QUIET)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterUnreachable(address, f"Ray could not join this cluster ({detail})",
                                 "Every node and this machine need the same Ray and Python versions") from None


def _answering_cluster(address: str, timeout_s: float) -> str:
    """The canonical GCS address of ``address`` once its GCS has answered this environment's credentials."""
    from ray._private.authentication.grpc_authentication_client_interceptor import (
        _get_authentication_metadata_tuple,
    )
    from ray._private.services import canonicalize_bootstrap_address, find_node_ids
    from ray.core.generated import gcs_pb2, gcs_service_pb2, gcs_service_pb2_grpc
    from ray.exceptions import AuthenticationError

    try:
        # "auto" means the cluster this machine last started; Ray resolves it (RAY_ADDRESS first).
        target = canonicalize_bootstrap_address(address)
    except ConnectionError as exc:
        raise ClusterUnreachable(address, str(exc).splitlines()[0], "Pass the head's HOST:PORT") from None
    except ValueError:
        raise ClusterUnreachable(address, "not a Ray cluster address", "Pass the head's HOST:PORT, e.g. 10.0.0.5:6379"
                                 ) from None
    if target is None:
        raise ClusterUnreachable(address, "no Ray cluster recorded on this machine", "Pass the head's HOST:PORT")
    try:
        metadata = _get_authentication_metadata_tuple()
    except AuthenticationError:
        raise ClusterToken(address, "RAY_AUTH_MODE=token is set but no token was found", TOKEN_HELP) from None
    with grpc.insecure_channel(target) as channel:
        try:
            reply = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel).GetAllNodeInfo(
                gcs_service_pb2.GetAllNodeInfoRequest(), timeout=timeout_s, metadata=metadata)
        except grpc.RpcError as exc:
            raise _refusal(address, exc, sent_token=bool(metadata), timeout_s=timeout_s) from None
    alive = {node.node_id.hex() for node in reply.node_info_list
             if node.state == gcs_pb2.GcsNodeInfo.GcsNodeState.ALIVE}
    if not alive & set(find_node_ids()):
        raise ClusterUnreachable(address, "no node of this cluster runs on this machine, and Ray runs a batch "
                                 "beside one", "Run `ray start --address HOST:PORT` here first (with the same "
                                 "RAY_AUTH_* settings), or run the batch on the head")
    return target


def _refusal(address: str, exc: grpc.RpcError, sent_token: bool, timeout_s: float) -> ClusterError:
    code = exc.code()
    if code == grpc.StatusCode.UNAUTHENTICATED:
        if sent_token:
            return ClusterToken(address, f"the cluster refused the token from {_token_source()}",
                                "Use the head's token (`ray get-auth-token` on the head prints it)")
        return ClusterToken(address, "this Ray cluster needs a token and none was sent", TOKEN_HELP)
    details = (exc.details() or code.name).splitlines()[0]
    return ClusterUnreachable(address, f"no Ray cluster answered within {timeout_s:g} s ({details})",
                              "Check the address and that the head runs (`ray start --head --port PORT`) "
                              "and its port is open from this machine")


def _token_source() -> str:
    """Which of Ray's token sources this environment uses (Ray's order: variable, file variable, default file)."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return "RAY_AUTH_TOKEN"
    return os.environ.get("RAY_AUTH_TOKEN_PATH") or "~/.ray/auth_token"


__all__ = ["LOCAL", "ClusterError", "ClusterToken", "ClusterUnreachable", "start_ray"]
