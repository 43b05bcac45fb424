"""A process with an ONNX export in its cache embeds without torch, with the same vectors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from media_index.embedding.onnx_embedder import META_FILE, preprocess, read_meta, torch_free_embedder
from media_index.embedding.open_clip_backend import OpenClipEmbedder
from media_index.embedding.weights import resolve_open_clip
from media_index.synthetic.concepts import CONCEPTS_BY_KEY
from media_index.synthetic.render import render_picture
from tests.conftest import REPO

TEXTS = ["a cute puppy", "红色的汽车", "Max, our puppy, fell asleep on the sofa after his long walk. " * 6]
# Pictures of several shapes and modes: the crop and resize must match torchvision's.
PICTURES = [
    lambda: render_picture([CONCEPTS_BY_KEY["dog"]], seed=5, size=96),
    lambda: Image.new("RGB", (333, 120), (200, 10, 10)),
    lambda: Image.new("L", (90, 201), 100),
    lambda: render_picture([CONCEPTS_BY_KEY["car"]], seed=6, size=64),
]
EMBED_WITHOUT_TORCH = """
import json, sys
import django
django.setup()
from PIL import Image
from media_index.embedding.registry import configured_model, get_embedder
embedder = get_embedder(configured_model())
pictures = [Image.open(path) for path in sys.argv[1:]]
print(json.dumps({"embedder": type(embedder).__name__, "torch": "torch" in sys.modules,
                  "texts": embedder.embed_texts(%r).tolist(), "images": embedder.embed_images(pictures).tolist(),
                  "spec": list(embedder.spec.__dict__.values())}))
"""


@pytest.fixture
def exported(settings, tmp_path) -> OpenClipEmbedder:
    """The PyTorch path with an ONNX runtime: it exports, and writes meta.json."""
    settings.MODEL_DIR = tmp_path
    return OpenClipEmbedder(resolve_open_clip("demo-clip", "demo"), runtime="onnx")


def test_the_export_describes_itself(exported, tmp_path) -> None:
    folder = next((tmp_path / "onnx").iterdir())
    meta = read_meta(folder)
    assert meta is not None and meta.supported()
    assert (meta.model_name, meta.dimension, meta.context_length, meta.tokenizer) == ("demo-clip", 256, 77, "clip-bpe")
    assert (meta.resize_mode, meta.pool_type) == ("shortest", "argmax")


@pytest.mark.parametrize("runtime", ["onnx", "onnx-int8"])
def test_a_fresh_process_embeds_without_torch_and_matches(exported, tmp_path, runtime) -> None:
    # A worker's PyTorch path for this runtime: exports (int8: quantises) and serves as reference.
    reference = OpenClipEmbedder(resolve_open_clip("demo-clip", "demo"), runtime=runtime)
    paths = []
    for index, make in enumerate(PICTURES):
        paths.append(tmp_path / f"picture-{index}.png")
        make().save(paths[-1])
    env = {"DJANGO_SETTINGS_MODULE": "searchsite.settings.test", "MODEL_DIR": str(tmp_path),
           "EMBEDDING_RUNTIME": runtime, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}  # fmt: skip
    result = subprocess.run([sys.executable, "-c", EMBED_WITHOUT_TORCH % (TEXTS,), *map(str, paths)], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.splitlines()[-1])

    assert out["embedder"] == "OnnxOpenClipEmbedder" and out["torch"] is False
    assert out["spec"] == list(exported.spec.__dict__.values())  # the same space
    pictures = [Image.open(path) for path in paths]
    assert np.abs(np.array(out["texts"]) - reference.embed_texts(TEXTS)).max() < 1e-5
    assert np.abs(np.array(out["images"]) - reference.embed_images(pictures)).max() < 1e-5


def test_preprocessing_matches_open_clips_transform(exported, tmp_path) -> None:
    meta = read_meta(next((tmp_path / "onnx").iterdir()))
    for make in PICTURES:
        picture = make()
        ours = preprocess(picture, meta)
        theirs = exported._preprocess(picture.convert("RGB")).numpy()
        assert ours.shape == theirs.shape and np.abs(ours - theirs).max() < 1e-5


def test_no_export_or_an_unsupported_one_falls_back_to_pytorch(exported, tmp_path) -> None:
    spec = exported.spec
    args = {"model_name": spec.model_name, "pretrained": spec.pretrained, "checkpoint_sha256": spec.checkpoint_sha256}
    assert torch_free_embedder(**args, runtime="onnx") is not None
    assert torch_free_embedder(**{**args, "checkpoint_sha256": "0" * 64}, runtime="onnx") is None  # not exported
    folder = next((tmp_path / "onnx").iterdir())
    meta = json.loads((folder / META_FILE).read_text())
    (folder / META_FILE).write_text(json.dumps({**meta, "tokenizer": "HFTokenizer"}))
    assert torch_free_embedder(**args, runtime="onnx") is None  # a tokeniser this module cannot run
    (folder / META_FILE).unlink()
    assert torch_free_embedder(**args, runtime="onnx") is None  # an export from before meta.json


SEARCH_WITHOUT_TORCH = """
import json, sys
import django
django.setup()
from django.test import Client
client = Client()
api = client.get("/api/v1/search/", {"q": "a cute puppy", "mode": "hybrid"})
page = client.get("/", {"q": "a cute puppy"})
print(json.dumps({"api": api.status_code, "page": page.status_code, "torch": sorted(m for m in sys.modules if m == "torch"),
                  "titles": [hit["title"] for hit in api.json()["results"]]}))
"""


@pytest.mark.django_db(transaction=True)
def test_a_web_process_searches_without_importing_torch(exported, tmp_path, django_user_model) -> None:
    from media_index.services.indexing import items_index
    from media_index.services.uploads import item_create_note
    from tests.conftest import child_env

    owner = django_user_model.objects.create_user("alice", password="pw")
    note, _ = item_create_note(owner=owner, text="Max, our puppy, fell asleep on the sofa.", title="Max",
                               visibility="public")
    items_index(item_ids=[note.pk])

    env = child_env(MODEL_DIR=str(tmp_path), EMBEDDING_RUNTIME="onnx")
    result = subprocess.run([sys.executable, "-c", SEARCH_WITHOUT_TORCH], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.splitlines()[-1])
    assert (out["api"], out["page"], out["torch"]) == (200, 200, [])
    assert out["titles"] == ["Max"]
