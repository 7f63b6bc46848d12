"""The ``/v1`` endpoints and ``/healthz``. Each answer is the predictor's own dict (a ``--json`` line of the CLI,
``"path"`` being the upload's file name) plus ``"model"``: the name of the model that answered."""
import inspect
from typing import Annotated, Callable

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from lrcn.config import options
from lrcn.data.limits import using
from lrcn.models.decoding import Decoding
from lrcn.serve.errors import ApiError
from lrcn.serve.settings import ServeLimits
from lrcn.serve.uploads import check_upload

class Problem(BaseModel):
    error: str = Field(description="What went wrong, in one line.")


ERRORS = {status: {"model": Problem, "description": text} for status, text in (
    (404, "No such model (or no model of this task is loaded)."),
    (413, "The request body is above the server's --max-upload-mb."),
    (415, "Not a multipart/form-data upload, or a file declared to be of the other kind (an image for a video)."),
    (422, "A bad field, or a file the model cannot read: not a video or an image, empty, truncated, too long, too large."),
    (503, "Busy (every worker and queue slot taken) or timed out: retry after the Retry-After header's seconds."))}

MODEL = Form(None, description="A loaded model's name (GET /v1/models); default: the first of the task.",
             max_length=200)
VIDEO = File(description="A video file: any container and codec FFmpeg reads (avi, mp4, webm, mkv, mov, ...).")
IMAGE = File(description="An image file: any format Pillow reads (jpeg, png, webp, gif, tiff, ...).")


async def run(request: Request, fn: Callable, *args):
    """``fn(*args)`` on a model worker, under the server's per-file budget (frames, pixels, bytes, seconds)."""
    state = request.app.state
    with using(state.limits.budget()):
        return await state.work.run(fn, *args)


def decoding_form(limits: ServeLimits) -> Callable:
    """A dependency whose form fields are :class:`~lrcn.models.decoding.Decoding`'s (``beam``, ``sample``, ...),
    with their help and defaults, and the server's caps on the costly ones."""
    high = {"beam": limits.max_beam, "sample": limits.max_samples, "temperature": 100.0, "seed": 2**32 - 1}
    params = []
    for o in options(Decoding):
        name = o.path[-1]
        bounds = {"gt": 0.0} if name == "temperature" else {"ge": o.low}
        field = Form(o.default, description=o.help, le=high.get(name, o.high), **bounds)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=field, annotation=o.kind))

    def decoding(**fields) -> dict:
        return fields

    decoding.__signature__ = inspect.Signature(params)
    return decoding


def build_router(limits: ServeLimits) -> APIRouter:
    router = APIRouter(responses=ERRORS)
    Decode = Annotated[dict, Depends(decoding_form(limits))]  # (no `from __future__ import annotations` here:
    # FastAPI reads these annotations at run time, and Decode is local)

    @router.get("/healthz", tags=["server"])
    async def healthz(request: Request) -> dict:
        """Up: the loaded models, the work queue and the live streams (answers while models are busy)."""
        state = request.app.state
        return {"status": "ok", "models": list(state.models.by_name), "work": state.work.status(),
                "streams": state.streams.status()}

    @router.get("/v1/models", tags=["models"])
    async def models(request: Request) -> dict:
        """Each loaded model: name, task, classes (activity) or vocabulary size (caption, describe), config."""
        return {"models": request.app.state.models.info()}

    @router.post("/v1/classify", tags=["activity"])
    async def classify(request: Request, video: UploadFile = VIDEO, model: str | None = MODEL,
                       top_k: int = Form(5, ge=1, le=1000, description="How many classes to list."),
                       timeline: bool = Form(True, description="The running class probabilities at every frame.")
                       ) -> dict:
        """A video -> its label, the top-k classes and the timeline: (frames, classes) running probabilities, the
        LSTM's state carried across the whole video (``classes`` names the columns)."""
        name, predictor = request.app.state.models.pick("activity", model)
        predictor = predictor.with_options(top_k=top_k, timeline=timeline)
        upload = check_upload(video, "video")
        answer = await run(request, lambda: predictor.predict(upload.read(), name=upload.name))
        return {**answer, "model": name, **({"classes": predictor.classes} if timeline else {})}

    @router.post("/v1/caption", tags=["caption"])
    async def caption(request: Request, decoding: Decode, image: UploadFile = IMAGE, model: str | None = MODEL
                      ) -> dict:
        """An image -> its caption and log-probability (with ``beam`` > 1, the beam's other sentences too)."""
        name, predictor = request.app.state.models.pick("caption", model)
        predictor = predictor.with_options(**decoding)
        upload = check_upload(image, "image")
        return {**await run(request, lambda: predictor.predict(upload.read(), name=upload.name)), "model": name}

    @router.post("/v1/describe", tags=["describe"])
    async def describe(request: Request, decoding: Decode, video: UploadFile = VIDEO, model: str | None = MODEL
                       ) -> dict:
        """A video -> a sentence and the SR tuple <activity, tool, object, source, target> with each slot's
        probability."""
        name, predictor = request.app.state.models.pick("describe", model)
        predictor = predictor.with_options(**decoding)
        upload = check_upload(video, "video")
        return {**await run(request, lambda: predictor.predict(upload.read(), name=upload.name)), "model": name}

    @router.post("/v1/retrieve", tags=["caption"])
    async def retrieve(request: Request, images: list[UploadFile] = File(description="One or more images."),
                       sentences: list[Annotated[str, Form(max_length=1000)]] = Form(
                           description="One or more sentences (repeat the field)."),
                       model: str | None = MODEL) -> dict:
        """Images and sentences -> both rankings by the captioner: per image its sentences, per sentence its images,
        best first, scored by log p(sentence | image) normalised as the paper (over the images, when several)."""
        if len(images) > limits.max_images or len(sentences) > limits.max_sentences:
            raise ApiError(422, f"{len(images)} images and {len(sentences)} sentences: at most {limits.max_images} "
                                f"and {limits.max_sentences} (the server's --max-images, --max-sentences)")
        name, predictor = request.app.state.models.pick("caption", model)
        uploads = [check_upload(f, "image") for f in images]
        ranked = await run(request, lambda: predictor.rank([u.read() for u in uploads], sentences,
                                                           [u.name for u in uploads]))
        scores = ranked["scores"]  # (I, S)
        return {"model": name, "normalised": ranked["normalised"], "images": [u.name for u in uploads],
                "sentences": sentences, "scores": scores,
                "annotation": [[{"sentence": sentences[s], "index": s, "score": round(scores[i][s], 4)} for s in row]
                               for i, row in enumerate(ranked["annotation"])],
                "search": [[{"image": uploads[i].name, "index": i, "score": round(scores[i][s], 4)} for i in row]
                           for s, row in enumerate(ranked["search"])]}

    @router.post("/v1/preview", tags=["page"], response_class=Response,
                 responses={200: {"content": {"video/webm": {}}, "description": "The same frames as WebM (VP8)."}})
    async def preview(request: Request, video: UploadFile = VIDEO) -> Response:
        """A video the browser cannot play (AVI, MPEG-4 part 2, ...) -> the same frames as WebM (VP8) at 25 fps, so
        that the page's player and timeline show the frames the model read."""
        from lrcn.serve.transcode import to_webm

        upload = check_upload(video, "video")
        return Response(await run(request, lambda: to_webm(upload.read(), upload.name)), media_type="video/webm")

    return router
