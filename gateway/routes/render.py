"""``/v1/render``: draw an emoticon from attributes, so a frontend can restyle without re-running the models."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from gateway.schemas import API_PREFIX, ErrorResponse, RenderedJson, RenderRequest

router = APIRouter(prefix=API_PREFIX, tags=["render"])


def render(body: RenderRequest) -> Response:
    from services.composer import emoji_for, render_png, render_svg

    if body.format == "png":
        return Response(render_png(body.attributes, body.options), media_type="image/png")
    svg = render_svg(body.attributes, body.options)
    if body.format == "svg":
        return Response(svg, media_type="image/svg+xml")
    payload = RenderedJson(emoji=emoji_for(body.attributes, body.options.tone), svg=svg)
    return Response(payload.model_dump_json(), media_type="application/json")


@router.post(
    "/render",
    response_class=Response,
    responses={
        200: {
            "content": {
                "image/svg+xml": {},
                "image/png": {},
                "application/json": {"schema": RenderedJson.model_json_schema()},
            }
        },
        401: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
    },
    summary="Render attributes as SVG, PNG, or JSON {emoji, svg}",
)
async def post_render(body: RenderRequest) -> Response:
    return await run_in_threadpool(render, body)
