"""The benchmark suites run end to end at a tiny size (full sizes are for docs/BENCHMARKS.md)."""

from __future__ import annotations

import json

import pytest

import bench.memory
import bench.model
import bench.owner_filter
import bench.search
import bench.vectors


@pytest.mark.slow
def test_bench_embedding_compares_runtimes_and_measures_quality(settings, tmp_path) -> None:
    settings.MODEL_DIR = tmp_path / "models"
    out = tmp_path / "embedding.json"

    bench.model.main(["--images", "4", "--texts", "6", "--batch-size", "2",
                 "--runtimes", "torch,onnx", "--full-padding", "--quality", "--out", str(out)])  # fmt: skip

    result = json.loads(out.read_text())
    torch_run, onnx_run = result["runs"]
    assert (torch_run["runtime"], onnx_run["runtime"]) == ("torch", "onnx")
    assert all(run["images_per_s_batched"] > 0 and run["texts_per_s_single"] > 0 for run in result["runs"])
    assert torch_run["images_per_s_batched_vs_torch"] == 1.0
    # Texts at open_clip's full 77 tokens, measured in the same run as the trimmed ones.
    assert all(run["texts_per_s_batched_full_padding"] > 0 and run["trim_speedup_batched"] > 0
               for run in result["runs"])  # fmt: skip
    # fp32 ONNX computes the same vectors: the same retrieval quality.
    assert onnx_run["recall@5"] == pytest.approx(torch_run["recall@5"], abs=0.01)
    assert torch_run["recall@5"] > 0.8
    assert "--runtimes torch,onnx" in result["command"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_bench_vectors_runs_on_a_small_table(tmp_path) -> None:
    out = tmp_path / "vectors.json"

    bench.vectors.main(["--rows", "300", "--dim", "16", "--queries", "5", "--out", str(out)])

    result = json.loads(out.read_text())
    assert result and out.stat().st_size > 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_bench_search_sweeps_ef_and_compares_exact_filtered_and_faiss(tmp_path) -> None:
    out = tmp_path / "search.json"

    bench.search.main(["--sizes", "600", "--dim", "16", "--queries", "5", "--ef", "10,40", "--binary", "20,600",
                       "--filter-scan-tuples", "100,20000", "--owner-index", "--out", str(out)])  # fmt: skip

    row = json.loads(out.read_text())["sizes"]["600"]
    assert set(row["hnsw"]) == {"10", "40"} and row["exact"]["recall_at_10"] == 1.0
    assert set(row["filtered"]) == {"off", "relaxed_order", "strict_order", "exact", "product"}
    assert row["filtered"]["exact"]["recall_at_10"] == 1.0
    # The product's query form: unfiltered, per max_scan_tuples, and through the owner's own index.
    product = row["filtered"]["product"]
    assert set(product["max_scan_tuples"]) == {"100", "20000"} and product["unfiltered"]["recall_at_10"] > 0
    # (At 600 rows the planner may read the owner's dozen rows directly: which plan ran is reported.)
    assert isinstance(product["owner_index"]["uses_owner_index"], bool) and product["owner_index"]["recall_at_10"] == 1.0
    assert row["faiss"]["exact"]["recall_at_10"] == 1.0 and set(row["faiss"]["hnsw"]) == {"10", "40"}
    # Binary quantisation: re-ranking every row on the full vectors is exact.
    assert row["binary"]["index_bytes"] > 0 and row["binary"]["600"]["recall_at_10"] == 1.0
    assert 0 < row["binary"]["20"]["recall_at_10"] <= 1.0


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_bench_owner_filter_runs_the_products_search_with_and_without_the_owners_index(tmp_path) -> None:
    out = tmp_path / "owner-filter.json"

    bench.owner_filter.main(["--items", "1500", "--owners", "10", "--queries", "5", "--out", str(out)])

    result = json.loads(out.read_text())
    assert result["owner_vectors"] > 100 and result["owner_indexes_built"] == 1
    assert result["as_planned"]["recall_at_10"] == 1.0  # on this share: an exact scan
    owner_index = result["owner_index"]
    def owner_hnsw(plan: list[str]) -> bool:
        return any("_hnsw_space_" in name and "_owner_" in name for name in plan)

    assert owner_hnsw(owner_index["indexes_in_plan"]) and not owner_hnsw(result["as_planned"]["indexes_in_plan"])
    assert owner_index["recall_at_10"] >= 0.9 and result["space_graph"]["recall_at_10"] > 0


@pytest.mark.slow
def test_bench_memory_measures_fresh_processes(tmp_path) -> None:
    out = tmp_path / "memory.json"

    bench.memory.main(["--runtimes", "torch", "--out", str(out)])

    run = json.loads(out.read_text())["runs"]["torch"]
    assert 30 < run["django"] < run["model_and_one_query"] <= run["after_batch_of_32_pictures"] * 1.05
