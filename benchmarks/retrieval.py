"""Retrieval benchmark: our hybrid index against a plain LangChain Chroma dense retriever.

On a synthetic, seeded corpus of Chinese bank documents (products, policies, procedures, FAQs;
public and staff audiences; some expired by their effective dates), this script measures, in
one process, with one embedder and on the same passages:

- ingestion: wall time and chunks/s of `KnowledgeIndex.ingest` over the whole corpus
  (chunking, tokenising, embedding, writing Chroma and the snapshot files) against
  `langchain_chroma.Chroma.from_texts` over the very passages our index produced (the same
  title/section-prefixed text our dense index embeds, so both pay the same embedding cost);
- incremental ingestion (ours only): re-ingesting the unchanged corpus, then the corpus with
  1% of its documents edited;
- retrieval: per-query wall latency p50 / p95 of `assistant.search.retrieval.search` for a customer
  (BM25 + dense, audience and effective-date filters, rank fusion) against
  `Chroma.as_retriever(search_kwargs={"k": 5, "filter": {"audience": "public"}}).invoke`.
  Both are warmed up first and then timed alternately query by query, so background load
  falls on both alike. The latency of embedding a query alone, which both pay, is shown too;
- peak RSS of the process (both systems together) after each phase.

The two ingests run one after the other, so load from other jobs can fall on one and not the
other; their CPU time (this process, all threads) is printed too, as it is less affected.

The default corpus, 1,000 documents of 10 chunks each, takes about 5.5 minutes with use-m3 on
an otherwise idle 2-core machine; nearly all of it is embedding, which both systems do for
every chunk. Other jobs on the same cores slow embedding down several times over; lower
`--docs` then (150 documents take about a minute on an idle machine).

Absolute figures depend on the machine and on whatever else runs on it; on a shared 2-core
machine they are noisy. Compare the ratio column within one run, not figures across runs.

Run from the repository root:

    .venv/bin/python benchmarks/retrieval.py
    .venv/bin/python benchmarks/retrieval.py --docs 150 --queries 100 --model use-m3
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb
import numpy as np
from langchain_chroma import Chroma

from assistant.ingest.chunking import embedding_text
from assistant.ingest.documents import Document, PlainFileDefaults, parse_document
from assistant.roles import Audience, Role
from assistant.search.catalog import IndexedChunk
from assistant.search.embeddings import Embedder, load_embedder
from assistant.search.index import KnowledgeIndex, Snapshot
from assistant.search.langchain_adapter import LangChainAdapter
from assistant.search.retrieval import search
from assistant.search.vectorstore import PassageFilter
from assistant.text import tokenize

SEED = 20260101
THREADS = 2
CHUNK_SIZE = 360
CHUNK_OVERLAP = 1
SECTIONS_PER_DOC = 10
SECTION_CHARS = (270, 330)  # a section's body length; one section packs into one chunk
K = 5
POOL = 40
RRF_K = 60
WARMUP_QUERIES = 10
CHANGED_SHARE = 0.01
EMBED_SAMPLE = 2000
SCALE_QUERIES = 100

PRODUCTS = (
    "大额存单",
    "定期存款",
    "活期存款",
    "通知存款",
    "理财产品",
    "信用卡",
    "借记卡",
    "个人住房贷款",
    "个人消费贷款",
    "经营贷款",
    "养老金账户",
    "个人养老金",
    "基金定投",
    "外汇储蓄",
    "储蓄国债",
    "代销保险",
    "贵金属积存",
    "手机银行",
    "代发工资",
    "跨境汇款",
    "保管箱",
    "教育储蓄",
)
ATTRIBUTES = (
    "起存金额",
    "期限",
    "利率",
    "手续费",
    "办理渠道",
    "提前支取",
    "年费",
    "额度",
    "还款方式",
    "风险等级",
    "适用客户",
    "所需材料",
    "到账时间",
    "违约责任",
    "积分规则",
    "转让规则",
    "计息方式",
    "挂失补办",
    "销户",
    "优惠活动",
)
CHANNELS = ("营业网点", "手机银行", "网上银行", "电话银行", "自助终端", "微信银行")
TIERS = ("大众", "金卡", "白金", "钻石", "私人银行")
MATERIALS = ("本人有效身份证件", "收入证明", "银行卡", "户口簿", "婚姻状况证明", "购房合同")
KIND_TITLES = {
    "product": "产品说明书",
    "policy": "管理办法",
    "procedure": "办理流程",
    "faq": "常见问题",
}
SENTENCES = (
    "{p}的{a}为人民币{n}万元，超过部分以{s}万元为单位递增。",
    "本期{p}提供{m}个月、{m2}个月、{y}年等多档期限，办理成功当日起息。",
    "{p}的年利率为{r}%，按办理当日本行挂牌利率执行，存续期内利率固定。",
    "通过{c}办理{p}{a}相关业务，每笔收取手续费{f}元，{t}及以上客户免收。",
    "客户可在{c}或{c2}办理{p}，办理时须携带{d}，代理他人办理还须出示代理人证件。",
    "{p}如需提前支取，支取部分按支取日活期利率{r0}%计息，存续期内最多部分支取{k}次。",
    "关于{a}，{p}按合同约定执行，到期日遇法定节假日顺延至下一工作日。",
    "以{n}万元、期限{y}年为例，{p}到期可得利息约{i}元，利息随本金一次性支付。",
    "{p}的风险等级为R{k}，适合风险承受能力评估为C{k}及以上的客户购买。",
    "{p}的{a}自{dt}起执行，此前已签约的业务继续按原约定办理，不受本次调整影响。",
    "{t}客户办理{p}可享{a}优惠，具体以{c}页面展示为准。",
    "{p}额度最高为{n}万元，审批通过后{k}个工作日内发放至客户本人账户。",
    "{p}的{a}如有变动，本行将提前{k}个工作日通过{c}及营业网点公告。",
    "{p}每年收取{a}{f}元，当年消费满{k}笔可免收次年费用。",
    "办理{p}的{a}业务，资金通常在{k}个工作日内到账，节假日顺延。",
    "客户对{p}{a}有疑问的，可拨打客服热线或前往{c}咨询。",
)
STAFF_SENTENCES = (
    "柜员办理{p}时须在系统中核对客户风险评估结果，超过{n}万元的业务须经网点负责人授权。",
    "{p}{a}的调整权限归总行{u}，分行不得自行上浮超过{k}个基点。",
    "员工不得向客户承诺{p}的收益，违反者按{u}相关规定处理。",
    "{p}大额业务须双人复核，复核记录保存不少于{y}年。",
)
QUESTIONS = (
    "{p}的{a}是多少？",
    "{p}{a}有什么规定",
    "请问{p}可以在{c}办理吗？",
    "{p}提前支取利息怎么算？",
    "办理{p}需要带什么材料？",
    "{t}客户办理{p}有{a}优惠吗",
    "{p}的{a}怎么算",
    "{p}多久到账",
    "{p}的利率是多少",
    "我想了解{p}的{a}",
)
UNITS = ("风险管理部", "零售业务部", "合规部", "个人金融部")


@dataclass
class Timing:
    seconds: float
    cpu_seconds: float
    chunks_total: int = 0
    chunks_embedded: int = 0

    @property
    def rate(self) -> float:
        return self.chunks_embedded / self.seconds if self.seconds else float("nan")


@dataclass
class Results:
    documents: int = 0
    chunks: int = 0
    mean_chars: float = 0.0
    public_in_effect: int = 0
    queries: int = 0
    ours_ingest: Timing | None = None
    ours_unchanged: Timing | None = None
    ours_changed: Timing | None = None
    changed_docs: int = 0
    base_ingest: Timing | None = None
    ours_ms: list[float] = field(default_factory=list)
    base_ms: list[float] = field(default_factory=list)
    embed_ms: list[float] = field(default_factory=list)
    embed_alone: Timing | None = None
    # Each query's top K from the baseline's approximate (HNSW) search and from exact search
    # over the same vectors and the same filter (public passages).
    base_found: list[list[str]] = field(default_factory=list)
    exact_found: list[list[str]] = field(default_factory=list)
    rss_mib: dict[str, float] = field(default_factory=dict)
    change_costs: list[ChangeCost] = field(default_factory=list)

    @property
    def baseline_recall(self) -> float:
        hits = sum(
            len(set(b) & set(e)) for b, e in zip(self.base_found, self.exact_found, strict=True)
        )
        return hits / max(1, sum(len(e) for e in self.exact_found))


@dataclass
class ChangeCost:
    """Re-ingesting a corpus with a few documents edited, at one corpus size."""

    chunks: int
    changed_docs: int
    build: Timing
    changed: Timing
    query_ms: list[float]


# ---------- synthetic corpus ----------


def fill(template: str, rng: random.Random, product: str, attribute: str) -> str:
    """One template with seeded product, attribute, channel and number values."""
    c, c2 = rng.sample(CHANNELS, 2)
    return template.format(
        p=product,
        a=attribute,
        c=c,
        c2=c2,
        t=rng.choice(TIERS),
        d=rng.choice(MATERIALS),
        u=rng.choice(UNITS),
        n=rng.choice((1, 5, 10, 20, 30, 50, 100, 200)),
        s=rng.choice((1, 5)),
        m=rng.choice((1, 3, 6)),
        m2=rng.choice((9, 12, 18)),
        y=rng.randint(1, 5),
        r=f"{rng.uniform(1.0, 4.0):.2f}",
        r0=f"{rng.uniform(0.05, 0.35):.2f}",
        f=rng.choice((0, 2, 5, 10, 15, 50, 100, 200)),
        k=rng.randint(1, 5),
        i=f"{rng.randint(100, 90000):,}",
        dt=f"{rng.randint(2019, 2026)}年{rng.randint(1, 12)}月1日",
    )


def section_body(rng: random.Random, product: str, attribute: str, staff: bool) -> str:
    """Sentences about one attribute until the section is about one chunk long."""
    pool = SENTENCES + STAFF_SENTENCES if staff else SENTENCES
    target = rng.randint(*SECTION_CHARS)
    text = ""
    while True:
        sentence = fill(rng.choice(pool), rng, product, attribute)
        if len(text) + len(sentence) > SECTION_CHARS[1] and text:
            return text
        text += sentence
        if len(text) >= target:
            return text


def effective_dates(rng: random.Random) -> dict[str, str]:
    """About 15% expired, 35% in effect since a past day, the rest undated."""
    draw = rng.random()
    year = rng.randint(2019, 2024)
    if draw < 0.15:
        return {"effective_from": f"{year}-01-01", "effective_to": f"{year}-12-31"}
    if draw < 0.5:
        return {"effective_from": f"{year}-{rng.randint(1, 12):02d}-01"}
    return {}


def document_text(number: int, rng: random.Random) -> str:
    """Markdown with front matter: a title and SECTIONS_PER_DOC `## ` sections."""
    product = rng.choice(PRODUCTS)
    kind = rng.choice(tuple(KIND_TITLES))
    staff = rng.random() < 0.3
    title = f"{product}（{rng.randint(2019, 2026)}年第{number % 4 + 1}期）{KIND_TITLES[kind]}"
    front = {
        "id": f"syn-{number:05d}",
        "title": title,
        "kind": kind,
        "audience": "staff" if staff else "public",
        "language": "zh-CN",
        **effective_dates(rng),
    }
    header = "\n".join(f"{key}: {value}" for key, value in front.items())
    sections = [
        f"## {attribute}\n\n{section_body(rng, product, attribute, staff)}"
        for attribute in rng.sample(ATTRIBUTES, SECTIONS_PER_DOC)
    ]
    return f"---\n{header}\n---\n\n# {title}\n\n" + "\n\n".join(sections) + "\n"


def corpus_texts(count: int) -> list[str]:
    rng = random.Random(SEED)
    return [document_text(number, rng) for number in range(count)]


def parse_all(texts: Sequence[str]) -> list[Document]:
    defaults = PlainFileDefaults()
    return [
        parse_document(text, f"synthetic/syn-{i:05d}.md", defaults) for i, text in enumerate(texts)
    ]


def edit_some(texts: list[str], share: float) -> tuple[list[str], int]:
    """A copy of the corpus with `share` of its documents given one more sentence."""
    rng = random.Random(SEED + 1)
    chosen = rng.sample(range(len(texts)), max(1, round(len(texts) * share)))
    edited = list(texts)
    for number in chosen:
        edited[number] = edited[number].rstrip("\n") + "本条款已于近期修订，以本行最新公告为准。\n"
    return edited, len(chosen)


def questions(count: int) -> list[str]:
    rng = random.Random(SEED + 2)
    return [
        fill(rng.choice(QUESTIONS), rng, rng.choice(PRODUCTS), rng.choice(ATTRIBUTES))
        for _ in range(count)
    ]


# ---------- measurement ----------


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_ingest(index: KnowledgeIndex, documents: Sequence[Document]) -> Timing:
    start, cpu = time.perf_counter(), time.process_time()
    report = index.ingest(documents)
    return Timing(
        time.perf_counter() - start,
        time.process_time() - cpu,
        report.chunks_total,
        report.chunks_embedded,
    )


def baseline_ingest(
    chunks: Sequence[IndexedChunk], embedder: Embedder, directory: Path
) -> tuple[Chroma, Timing]:
    """LangChain's Chroma over the same passages, with the audience as metadata."""
    texts = [embedding_text(c.title, c.section, c.text) for c in chunks]
    metadatas = [{"chunk_id": c.chunk_id, "audience": c.audience} for c in chunks]
    start, cpu = time.perf_counter(), time.process_time()
    store = Chroma.from_texts(
        texts,
        LangChainAdapter(embedder),
        metadatas=metadatas,
        persist_directory=str(directory),
        collection_name="bench",
        client_settings=chromadb.Settings(anonymized_telemetry=False),
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return store, Timing(wall, cpu, len(texts), len(texts))


def public_in_effect(snapshot: Snapshot, on: date) -> int:
    return int(snapshot.mask(PassageFilter((str(Audience.public),), on)).sum())


def hybrid_search(snapshot: Snapshot, embedder: Embedder, query: str, on: date) -> object:
    """Our retrieval as a customer sees it, with the benchmark's parameters."""
    return search(snapshot, embedder, query, Role.customer, k=K, on=on, pool=POOL, rrf_k=RRF_K)


def elapsed_ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def time_queries(
    snapshot: Snapshot, embedder: Embedder, store: Chroma, queries: Sequence[str], results: Results
) -> None:
    """Warm both up, then time each query on both, alternating which goes first."""
    today = date.today()
    retriever = store.as_retriever(search_kwargs={"k": K, "filter": {"audience": "public"}})

    def ours(query: str) -> Callable[[], object]:
        return lambda: hybrid_search(snapshot, embedder, query, today)

    def baseline(query: str) -> Callable[[], object]:
        return lambda: retriever.invoke(query)

    ids = [c.chunk_id for c in snapshot.chunks]
    vectors = snapshot.vectors.vectors(ids)
    public = np.array([c.audience == Audience.public for c in snapshot.chunks])

    for query in queries[:WARMUP_QUERIES]:
        ours(query)()
        baseline(query)()
    for i, query in enumerate(queries):
        if i % 2:
            results.base_ms.append(elapsed_ms(baseline(query)))
            results.ours_ms.append(elapsed_ms(ours(query)))
        else:
            results.ours_ms.append(elapsed_ms(ours(query)))
            results.base_ms.append(elapsed_ms(baseline(query)))
        results.embed_ms.append(elapsed_ms(lambda q=query: embedder.embed_query(q)))
        results.base_found.append([d.metadata["chunk_id"] for d in retriever.invoke(query)])
        scores = np.where(public, vectors @ embedder.embed_query(query), -np.inf)
        results.exact_found.append([ids[i] for i in np.argsort(-scores)[:K]])


def embedding_alone(embedder: Embedder, snapshot: Snapshot, sample: int) -> Timing:
    """Embedding a sample of the passages, nothing else: what ingest is bound by."""
    chunks = snapshot.chunks[:sample]
    texts = [embedding_text(c.title, c.section, c.text) for c in chunks]
    start, cpu = time.perf_counter(), time.process_time()
    for begin in range(0, len(texts), 1000):
        embedder.embed_passages(texts[begin : begin + 1000])
    return Timing(time.perf_counter() - start, time.process_time() - cpu, len(texts), len(texts))


class HashingEmbedder:
    """A random unit vector per text, seeded by the text: nearly free and meaningless, for
    timing what the index itself costs as the corpus grows (use-m3 would take half an hour
    to embed 100,000 chunks)."""

    name = "hashing"
    dimension = 512
    threads = 1

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.stack(
            [
                np.random.default_rng(zlib.crc32(text.encode())).standard_normal(self.dimension)
                for text in texts
            ]
        ).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_passages([text])[0]


def change_cost(docs: int, root: Path) -> ChangeCost:
    """Build an index of `docs` documents, then re-ingest it with 10 of every 1,000 edited."""
    texts = corpus_texts(docs)
    index = KnowledgeIndex(
        root / f"scale-{docs}",
        HashingEmbedder(),
        chunk_size=CHUNK_SIZE,
        chunk_overlap=CHUNK_OVERLAP,
    )
    build = timed_ingest(index, parse_all(texts))
    index.snapshot()  # a serving process has the current generation open
    edited, changed_docs = edit_some(texts, CHANGED_SHARE)
    documents = parse_all(edited)
    changed = timed_ingest(index, documents)
    snapshot, embedder, today = index.snapshot(), index.embedder, date.today()
    queries = questions(SCALE_QUERIES)
    for query in queries[:WARMUP_QUERIES]:
        hybrid_search(snapshot, embedder, query, today)
    query_ms = [
        elapsed_ms(lambda q=query: hybrid_search(snapshot, embedder, q, today)) for query in queries
    ]
    return ChangeCost(build.chunks_total, changed_docs, build, changed, query_ms)


def run(docs: int, query_count: int, model: str, scale: Sequence[int]) -> Results:
    results = Results(documents=docs, queries=query_count)
    embedder = load_embedder(model, THREADS)
    embedder.embed_query("预热")
    tokenize("预热")  # jieba loads its dictionary on first use; keep that out of the timings
    texts = corpus_texts(docs)
    documents = parse_all(texts)
    queries = questions(query_count)
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as scratch:
        root = Path(scratch)
        index = KnowledgeIndex(
            root / "ours", embedder, chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP
        )
        results.ours_ingest = timed_ingest(index, documents)
        results.rss_mib["after our ingest"] = peak_rss_mib()
        snapshot = index.snapshot()
        results.chunks = len(snapshot.chunks)
        results.mean_chars = float(np.mean([len(c.text) for c in snapshot.chunks]))
        results.public_in_effect = public_in_effect(snapshot, date.today())
        store, results.base_ingest = baseline_ingest(snapshot.chunks, embedder, root / "baseline")
        results.rss_mib["after baseline ingest"] = peak_rss_mib()
        time_queries(snapshot, embedder, store, queries, results)
        results.rss_mib["after queries"] = peak_rss_mib()
        results.ours_unchanged = timed_ingest(index, documents)
        edited, results.changed_docs = edit_some(texts, CHANGED_SHARE)
        results.ours_changed = timed_ingest(index, parse_all(edited))
        results.embed_alone = embedding_alone(embedder, snapshot, EMBED_SAMPLE)
        results.rss_mib["at end"] = peak_rss_mib()
        for size in scale:
            results.change_costs.append(change_cost(size, root))
    return results


# ---------- report ----------


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def ratio(ours: float, baseline: float) -> str:
    return f"{ours / baseline:.2f}x" if baseline else "n/a"


def row(label: str, ours: str, baseline: str = "n/a", share: str = "") -> str:
    return f"{label:<40} {ours:>14} {baseline:>20} {share:>14}"


def report(results: Results, args: argparse.Namespace) -> str:
    assert results.ours_ingest and results.base_ingest
    assert results.ours_unchanged and results.ours_changed
    ours_in, base_in = results.ours_ingest, results.base_ingest
    alone = results.embed_alone
    assert alone is not None
    p50, p95 = (percentile(results.ours_ms, 50), percentile(results.ours_ms, 95))
    b50, b95 = (percentile(results.base_ms, 50), percentile(results.base_ms, 95))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "Retrieval benchmark: our hybrid index vs LangChain Chroma (dense only)",
        f"machine: nproc={cores}, load average (1/5/15 min) at end {load}; "
        f"embedder {args.model} (threads={THREADS})",
        f"corpus: {results.documents} synthetic documents -> {results.chunks} chunks "
        f"(report.chunks_total={ours_in.chunks_total}, mean {results.mean_chars:.0f} chars, "
        f"chunk_size={CHUNK_SIZE}); {results.public_in_effect} public and in effect today",
        f"queries: {results.queries}, customer role, k={K} (ours: pool={POOL}, rrf_k={RRF_K}); "
        f"{WARMUP_QUERIES} warm-up queries each",
        "",
        row("", "ours (hybrid)", "baseline (LC Chroma)", "ours/baseline"),
        row(
            "full ingest, s",
            f"{ours_in.seconds:.1f}",
            f"{base_in.seconds:.1f}",
            ratio(ours_in.seconds, base_in.seconds),
        ),
        row(
            "full ingest, chunks/s",
            f"{ours_in.rate:.1f}",
            f"{base_in.rate:.1f}",
            ratio(ours_in.rate, base_in.rate),
        ),
        row(
            "  of embedding alone, chunks/s",
            f"{ours_in.rate / alone.rate:.2f}x",
            f"{base_in.rate / alone.rate:.2f}x",
            f"({alone.rate:.1f}/s on {alone.chunks_total})",
        ),
        row(
            "full ingest, CPU s (all threads)",
            f"{ours_in.cpu_seconds:.1f}",
            f"{base_in.cpu_seconds:.1f}",
            ratio(ours_in.cpu_seconds, base_in.cpu_seconds),
        ),
        row("re-ingest unchanged, s", f"{results.ours_unchanged.seconds:.3f}"),
        row(
            f"re-ingest, {results.changed_docs} docs changed, s",
            f"{results.ours_changed.seconds:.1f}",
        ),
        row(
            "  chunks embedded / total",
            f"{results.ours_changed.chunks_embedded}/{results.ours_changed.chunks_total}",
        ),
        row("query latency p50, ms", f"{p50:.1f}", f"{b50:.1f}", ratio(p50, b50)),
        row("query latency p95, ms", f"{p95:.1f}", f"{b95:.1f}", ratio(p95, b95)),
        row(
            "  of which embed_query alone p50 / p95",
            f"{percentile(results.embed_ms, 50):.1f} / {percentile(results.embed_ms, 95):.1f}",
            "(same for both)",
        ),
        row(
            f"recall@{K} against exact search",
            "1.000 (exact)",
            f"{results.baseline_recall:.3f} (HNSW)",
        ),
        "",
        "peak RSS of the process (both systems share it), MiB: "
        + ", ".join(f"{phase} {mib:.0f}" for phase, mib in results.rss_mib.items()),
        "",
        "note: ours filters by audience and effective dates and runs BM25 + dense + fusion;",
        "the baseline filters by audience only and runs dense search only. Absolute figures",
        "from a shared 2-core machine are noisy: compare only the ratios within one run.",
        "ratio column: below 1 means ours is faster for s and ms, above 1 for chunks/s.",
    ]
    if results.change_costs:
        lines += [
            "",
            "Change costs what changed: a corpus re-ingested with 1% of its documents edited",
            "(one sentence appended to each), hashing embedder so that only the index's own",
            "work is timed; the edited passages' embedding adds (embedded / use-m3 rate) s.",
            f"{'chunks':>8} {'full build, s':>14} {'docs changed':>13} {'re-ingest, s':>13} "
            f"{'embedded / total':>17} {'query p50 / p95, ms (hashing vectors)':>20}",
        ]
        for cost in results.change_costs:
            lines.append(
                f"{cost.chunks:>8} {cost.build.seconds:>14.1f} {cost.changed_docs:>13} "
                f"{cost.changed.seconds:>13.2f} "
                f"{f'{cost.changed.chunks_embedded}/{cost.changed.chunks_total}':>17} "
                f"{percentile(cost.query_ms, 50):>8.1f} / {percentile(cost.query_ms, 95):.1f}"
            )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--docs",
        type=int,
        default=1000,
        help="synthetic documents, 10 chunks each",
    )
    parser.add_argument("--queries", type=int, default=200, help="timed queries")
    parser.add_argument("--model", default="use-m3", help="embedder: use-m3, e5-small, minilm")
    parser.add_argument(
        "--scale",
        type=int,
        nargs="*",
        default=[100, 1000, 10000],
        help="corpus sizes in documents (10 chunks each) for the change-cost table",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    results = run(args.docs, args.queries, args.model, args.scale)
    print(report(results, args))


if __name__ == "__main__":
    main()
