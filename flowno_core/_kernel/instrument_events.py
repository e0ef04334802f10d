"""The records the event-loop instrument hooks receive (flowno-compatible names and fields).

They are built only while an instrument is active, so this module is imported on first use: a run
without instruments never loads it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class InstrumentationMetadata:
    """Base metadata for socket events."""

    _task: Any
    _command: Any
    socket_handle: Any
    immediate: bool = False
    start_time: float = field(default_factory=time.time)


@dataclass
class ReadySocketInstrumentationMetadata(InstrumentationMetadata):
    """A socket became ready (adds ``finish_time``)."""

    finish_time: float = field(default_factory=time.time)

    @classmethod
    def from_instrumentation_metadata(cls, metadata: InstrumentationMetadata) -> "ReadySocketInstrumentationMetadata":
        return cls(
            _task=metadata._task,
            _command=metadata._command,
            socket_handle=metadata.socket_handle,
            immediate=metadata.immediate,
            start_time=metadata.start_time,
        )


@dataclass
class SocketRecvDataMetadata:
    socket_handle: Any
    data: bytes


@dataclass
class SocketSendDataMetadata:
    socket_handle: Any
    data: bytes
    bytes_sent: int


@dataclass
class SocketConnectStartMetadata:
    socket_handle: Any
    target_address: Any
    immediate: bool = False
    start_time: float = field(default_factory=time.time)


@dataclass
class SocketConnectReadyMetadata(SocketConnectStartMetadata):
    finish_time: float = field(default_factory=time.time)

    @classmethod
    def from_instrumentation_metadata(cls, metadata: SocketConnectStartMetadata) -> "SocketConnectReadyMetadata":
        return cls(
            socket_handle=metadata.socket_handle,
            target_address=metadata.target_address,
            immediate=metadata.immediate,
            start_time=metadata.start_time,
        )


@dataclass
class TLSHandshakeMetadata:
    socket_handle: Any
    cipher: tuple[str, str, int] | None
    version: str | None
    server_hostname: str | None
    start_time: float
    finish_time: float = field(default_factory=time.time)


@dataclass
class TaskSendMetadata:
    task: Any
    send_value: Any


@dataclass
class TaskThrowMetadata:
    task: Any
    exception: BaseException
