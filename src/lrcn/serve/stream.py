"""``/v1/stream``: live activity recognition over a WebSocket, the LSTM's state carried from frame to frame.

Protocol (``ws://HOST/v1/stream?model=NAME&top_k=5``):

- the server first sends ``{"model", "classes"}``, or ``{"error"}`` and closes (no activity model, too many streams);
- the client sends each frame as one binary message, an encoded image (JPEG, PNG, WebP; a camera frame drawn on a
  canvas), in order; the server answers each with ``{"frame", "label", "score", "top", "probs"}``: the running
  prediction after that frame (``probs``: every class, in ``classes`` order), each frame through the CNN once;
- a text message ``{"reset": true}`` starts a new video (the LSTM forgets), answered ``{"reset": true}``;
- a frame the server cannot read, or has no worker for right now, is answered ``{"frame", "error"}`` and skipped;
  the stream goes on. A stream silent for ``idle`` seconds is closed. A frame that fails inside the model (a bug, or
  a library refusing this hardware) is answered ``{"frame", "error"}`` with the one line for it, and the stream is
  closed with code 1011 and that reason (its LSTM state cannot be trusted); the server stays up.
"""
from __future__ import annotations

import asyncio
import json
import threading

import numpy as np
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from lrcn.data.images import load_image
from lrcn.data.limits import using
from lrcn.errors import LrcnError
from lrcn.serve.errors import ApiError, bug_line_logged, one_line
from lrcn.serve.work import Busy, TimedOut
from lrcn.tasks.activity.predictor import top_classes

POLICY, INTERNAL_ERROR, TRY_AGAIN_LATER = 1008, 1011, 1013  # WebSocket close codes

router = APIRouter()


class Streams:
    """At most ``limit`` live streams at once."""

    def __init__(self, limit: int):
        self.limit, self.open, self.lock = limit, 0, threading.Lock()

    def enter(self) -> bool:
        with self.lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def leave(self) -> None:
        with self.lock:
            self.open -= 1

    def status(self) -> dict:
        return {"open": self.open, "limit": self.limit}


def push_frame(live, data: bytes, index: int, top_k: int) -> dict:
    """One encoded frame -> the running prediction after it (on a model worker)."""
    frame = np.asarray(load_image(data, name=f"frame {index}"))  # (H, W, 3) uint8
    probs = live.push(frame[None])[-1]  # (C,)
    classes = live.predictor.classes
    return {"frame": index, **top_classes(probs, classes, top_k), "probs": np.round(probs.astype(np.float64), 4).tolist()}


@router.websocket("/v1/stream")
async def stream(ws: WebSocket, model: str | None = None, top_k: int = 5):
    state = ws.app.state
    await ws.accept()
    try:
        name, predictor = state.models.pick("activity", model)
    except ApiError as e:
        return await _refuse(ws, e.detail, POLICY)
    if not state.streams.enter():
        return await _refuse(ws, f"busy: {state.streams.limit} live streams open (the server's --max-streams)",
                             TRY_AGAIN_LATER)
    live, index = predictor.stream(), 0
    try:
        await ws.send_json({"model": name, "classes": predictor.classes})
        while True:
            message = await asyncio.wait_for(ws.receive(), state.limits.idle)
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                if _is_reset(message["text"]):
                    live.reset()
                    index = 0
                    await ws.send_json({"reset": True})
                else:
                    await ws.send_json({"error": 'expected a binary frame or {"reset": true}'})
                continue
            answer = await _frame(state, live, message.get("bytes") or b"", index, max(1, top_k))
            index += "error" not in answer
            await ws.send_json(answer)
            if answer.get("closing"):
                return await ws.close(answer["closing"], answer["error"].encode()[:120].decode(errors="ignore"))
    except asyncio.TimeoutError:
        await ws.close(1000, f"idle for {state.limits.idle:g} s")
    except WebSocketDisconnect:
        pass
    finally:
        state.streams.leave()


async def _frame(state, live, data: bytes, index: int, top_k: int) -> dict:
    try:
        with using(state.limits.budget()):
            return await state.work.run(push_frame, live, data, index, top_k)
    except LrcnError as e:
        return {"frame": index, "error": one_line(e)}
    except TimedOut as e:  # the frame may still be running on the stream's LSTM state: the stream cannot go on
        return {"frame": index, "error": e.detail, "closing": TRY_AGAIN_LATER}
    except Busy as e:
        return {"frame": index, "error": e.detail}
    except Exception as e:  # noqa: BLE001 - a bug or the hardware: this stream ends, the server goes on
        return {"frame": index, "error": bug_line_logged(f"stream frame {index}", e), "closing": INTERNAL_ERROR}


def _is_reset(text: str) -> bool:
    try:
        return json.loads(text) == {"reset": True}
    except ValueError:
        return False


async def _refuse(ws: WebSocket, message: str, code: int) -> None:
    await ws.send_json({"error": one_line(message)})
    await ws.close(code)
