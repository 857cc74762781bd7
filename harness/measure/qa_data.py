"""A SQuAD-style split (questions, contexts, gold answer texts) read from its parquet files.

The hub layouts of ``rajpurkar/squad`` (config folder ``plain_text``) and
``rajpurkar/squad_v2`` (config folder ``squad_v2``): columns ``id``, ``title``, ``context``,
``question`` and ``answers``, a struct of two lists ``{text: [...], answer_start: [...]}``,
empty for SQuAD 2.0's unanswerable questions. Files, identity (the files' digest) and errors
work as in ``harness.measure.datafiles``: every error names the file and the column.
"""

from __future__ import annotations

from pathlib import Path

from harness.measure.datafiles import DatasetError, digest, no_rows, read_table, split_files

COLUMNS = ("id", "question", "context", "answers")
#: Gold answers absent from their paragraph that a split may hold and still be SQuAD. The official
#: scripts never look at the paragraph (they compare predictions with gold texts), so such a row
#: is scored as the file says, and counted; more than this share means a misaligned file
#: (contexts shuffled against questions: nearly every answer missing), which no extractive model
#: can be scored on. (SQuAD's own dev sets have none: every gold is a span of its paragraph.)
MAX_ANSWERS_NOT_IN_CONTEXT = 0.1


def _answers_type_ok(field) -> bool:
    import pyarrow as pa

    t = field.type
    if not pa.types.is_struct(t) or t.get_field_index("text") < 0:
        return False
    text = t.field("text").type
    return (pa.types.is_list(text) or pa.types.is_large_list(text)) and (
        pa.types.is_string(text.value_type) or pa.types.is_large_string(text.value_type))


def _check_table(path: Path, table) -> None:
    for column in COLUMNS:
        if column not in table.column_names:
            raise DatasetError(f"{path}: no column {column!r} (has {', '.join(table.column_names)}); "
                               "a SQuAD split needs id, question, context and answers")
    if not _answers_type_ok(table.schema.field("answers")):
        raise DatasetError(f"{path}: column 'answers' is {table.schema.field('answers').type}, not a struct "
                           "with a list of strings 'text' (the SQuAD layout: {text: [...], answer_start: [...]})")


def _strings(path: Path, table, column: str) -> list[str]:
    values = table.column(column).to_pylist()
    for row, value in enumerate(values):
        if not isinstance(value, str):
            raise DatasetError(f"{path}: column {column!r} row {row} is {value!r}, not text")
    return values


def load_qa_split(folder: Path, ds_cfg: dict) -> dict:
    """Ids, questions, contexts, gold answer texts per question, and the digest of the files.

    ``ds_cfg`` names ``config`` (the folder: ``plain_text`` or ``squad_v2``) and ``split``.
    ``answers[i]`` is question ``i``'s list of gold texts, duplicates kept (the official
    scripts take a max over them, so duplicates are harmless and dropping them would hide a
    broken file); ``[]`` means unanswerable, counted in ``unanswerable``.
    """
    folder = Path(folder)
    files = split_files(folder, ds_cfg["config"], ds_cfg["split"])
    ids: list[str] = []
    questions: list[str] = []
    contexts: list[str] = []
    answers: list[list[str]] = []
    seen: dict[str, Path] = {}
    not_in_context: list[tuple[Path, int, str]] = []
    for path in files:
        table = read_table(path)
        _check_table(path, table)
        file_ids = _strings(path, table, "id")
        for qid in file_ids:
            if qid in seen:
                raise DatasetError(f"{path}: column 'id' repeats {qid!r} (first in {seen[qid].name}); "
                                   "answers are matched to questions by id")
            seen[qid] = path
        golds = []
        for row, value in enumerate(table.column("answers").to_pylist()):
            texts = (value or {}).get("text")
            if texts is None or any(not isinstance(t, str) for t in texts):
                raise DatasetError(f"{path}: column 'answers' row {row} has no list of answer texts ({value!r})")
            golds.append(list(texts))
        file_questions, file_contexts = _strings(path, table, "question"), _strings(path, table, "context")
        for column, values in (("context", file_contexts), ("question", file_questions)):
            row = next((r for r, v in enumerate(values) if not v.strip()), None)
            if row is not None:
                raise DatasetError(f"{path}: column {column!r} row {row} (id {file_ids[row]!r}) is empty: every "
                                   "SQuAD question is asked about a paragraph; the file is damaged")
        not_in_context += [(path, row, file_ids[row]) for row, (gold, context) in enumerate(zip(golds, file_contexts))
                           if gold and not any(t in context for t in gold if t.strip())]
        ids += file_ids
        questions += file_questions
        contexts += file_contexts
        answers += golds
    if not ids:
        raise no_rows(files, ds_cfg["split"])
    answerable = sum(1 for a in answers if a)
    if not_in_context and len(not_in_context) > MAX_ANSWERS_NOT_IN_CONTEXT * answerable:
        path, row, qid = not_in_context[0]
        raise DatasetError(f"{path}: {len(not_in_context)} of {answerable} answerable questions have no gold answer "
                           f"in their context (first: row {row}, id {qid!r}), more than "
                           f"{MAX_ANSWERS_NOT_IN_CONTEXT:.0%}: contexts and questions do not belong together")
    return {"ids": ids, "questions": questions, "contexts": contexts, "answers": answers,
            "unanswerable": sum(1 for a in answers if not a),
            "integrity": {"answers_not_in_context": len(not_in_context),
                          "ids_not_in_context": [qid for _, _, qid in not_in_context[:20]]},
            "fingerprint": digest(files, folder), "files": [p.relative_to(folder).as_posix() for p in files]}
