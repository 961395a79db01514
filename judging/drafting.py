"""The starting text of a project's first prompt version, drafted from its rubric and score meanings.

It is a draft for a lead to edit, not a tuned prompt: it states what the guardrails check on every version
(the scale, both output fields) so that the optimizer has an honest, clean base to start from."""

from __future__ import annotations

from labeling.models import Project


def first_instructions(project: Project) -> str:
    low, high = project.scale_min, project.scale_max
    meanings = [(point, meaning.strip()) for point, meaning in project.scale_rows() if meaning.strip()]
    parts = [
        "You are a search quality rater. You will be given a search query and a document, and you must "
        "rate how relevant the document is to the query.",
        project.rubric.strip(),
        f"Use a scale from {low} to {high}."
        + ("" if meanings else f" {low} means not relevant at all and {high} means a perfect answer."),
    ]
    if meanings:
        parts.append("\n".join(f"- {point}: {meaning}" for point, meaning in meanings))
    parts.append(
        "Read the query and the whole document. In reasoning, say in a sentence or two what in the "
        "document does or does not answer the query; then give the score as one whole number from "
        f"{low} to {high}."
    )
    return "\n\n".join(part for part in parts if part)
