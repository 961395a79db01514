"""Project.gold_revision: goes up in the statement that changes any of the project's gold scores (see
labeling/gold.py), kept by triggers on PostgreSQL and SQLite alike, so that figures stored against gold
(judging.stored_metrics) know when they went stale whichever path wrote the labels."""

from django.db import migrations, models

# Gold is the adjudicated score where there is one, else the median of the labels: a label on an
# adjudicated item changes no gold. An item inserted or deleted with an adjudicated score changes gold too
# (its labels, deleted before it, bump on their own).
_BUMP = "UPDATE labeling_project SET gold_revision = gold_revision + 1 WHERE id IN ({projects})"
_OF_LABELS = "SELECT project_id FROM labeling_item WHERE adjudicated_score IS NULL AND id IN ({items})"

# PostgreSQL bumps once per statement and project (statement triggers over the transition tables): an
# import of n labels in one statement updates the project row once, not n times (see 0007 on why that
# matters). Their names sort before 0007's ("gold_…" < "labels_…"), so a label statement locks the project
# row before the annotators' progress rows, as a new labels_per_item does: one lock order everywhere.
_PG_FUNCTIONS = {
    "flywheel_gold_labels_written": _BUMP.format(
        projects=_OF_LABELS.format(items="SELECT item_id FROM changed")
    ),
    "flywheel_gold_labels_changed": _BUMP.format(
        projects=_OF_LABELS.format(
            items="SELECT unnest(ARRAY[o.item_id, n.item_id]) FROM before_rows o JOIN after_rows n "
            "ON n.id = o.id WHERE o.score IS DISTINCT FROM n.score OR o.item_id <> n.item_id"
        )
    ),
    "flywheel_gold_items_written": _BUMP.format(
        projects="SELECT project_id FROM changed WHERE adjudicated_score IS NOT NULL"
    ),
    "flywheel_gold_item_adjudicated": _BUMP.format(projects="OLD.project_id, NEW.project_id"),
}
_PG_TRIGGERS = [
    ("gold_labels_added", "labeling_label", "AFTER INSERT", "NEW TABLE AS changed", "labels_written"),
    ("gold_labels_removed", "labeling_label", "AFTER DELETE", "OLD TABLE AS changed", "labels_written"),
    (
        "gold_labels_changed",
        "labeling_label",
        "AFTER UPDATE",
        "OLD TABLE AS before_rows NEW TABLE AS after_rows",
        "labels_changed",
    ),
    ("gold_items_added", "labeling_item", "AFTER INSERT", "NEW TABLE AS changed", "items_written"),
    ("gold_items_removed", "labeling_item", "AFTER DELETE", "OLD TABLE AS changed", "items_written"),
]


def _postgresql() -> list[str]:
    functions = [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"    {body};\n    RETURN NULL;\nEND\n$$"
        for name, body in _PG_FUNCTIONS.items()
    ]
    statement_triggers = [
        f"CREATE TRIGGER {name} {event} ON {table} REFERENCING {tables} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION flywheel_gold_{function}()"
        for name, table, event, tables, function in _PG_TRIGGERS
    ]
    # Row by row, with a WHEN: PostgreSQL allows no transition tables on a trigger of some columns only, and
    # one on every update of an item would run for each label statement (they update label_count).
    # Adjudications come one item at a time; the import never writes adjudicated_score.
    adjudicated = (
        "CREATE TRIGGER gold_item_adjudicated AFTER UPDATE OF adjudicated_score, project_id ON labeling_item "
        "FOR EACH ROW WHEN (OLD.adjudicated_score IS DISTINCT FROM NEW.adjudicated_score "
        "OR OLD.project_id <> NEW.project_id) EXECUTE FUNCTION flywheel_gold_item_adjudicated()"
    )
    return [*functions, *statement_triggers, adjudicated]


# SQLite has row triggers only: one bump per row written (SQLite keeps no row versions to walk).
_SQLITE_TRIGGERS = {
    "gold_label_insert": (
        "AFTER INSERT ON labeling_label",
        _BUMP.format(projects=_OF_LABELS.format(items="NEW.item_id")),
    ),
    "gold_label_delete": (
        "AFTER DELETE ON labeling_label",
        _BUMP.format(projects=_OF_LABELS.format(items="OLD.item_id")),
    ),
    "gold_label_update": (
        "AFTER UPDATE OF score, item_id ON labeling_label "
        "WHEN OLD.score IS NOT NEW.score OR OLD.item_id IS NOT NEW.item_id",
        _BUMP.format(projects=_OF_LABELS.format(items="OLD.item_id, NEW.item_id")),
    ),
    "gold_item_insert": (
        "AFTER INSERT ON labeling_item WHEN NEW.adjudicated_score IS NOT NULL",
        _BUMP.format(projects="NEW.project_id"),
    ),
    "gold_item_delete": (
        "AFTER DELETE ON labeling_item WHEN OLD.adjudicated_score IS NOT NULL",
        _BUMP.format(projects="OLD.project_id"),
    ),
    "gold_item_adjudicated": (
        "AFTER UPDATE OF adjudicated_score, project_id ON labeling_item "
        "WHEN OLD.adjudicated_score IS NOT NEW.adjudicated_score OR OLD.project_id IS NOT NEW.project_id",
        _BUMP.format(projects="OLD.project_id, NEW.project_id"),
    ),
}


def _sqlite() -> list[str]:
    return [
        f"CREATE TRIGGER {name} {when} BEGIN\n    {body};\nEND"
        for name, (when, body) in _SQLITE_TRIGGERS.items()
    ]


_DROP = {
    "postgresql": [
        *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table, *_ in _PG_TRIGGERS),
        "DROP TRIGGER IF EXISTS gold_item_adjudicated ON labeling_item",
        *(f"DROP FUNCTION IF EXISTS {name}()" for name in _PG_FUNCTIONS),
    ],
    "sqlite": [f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_TRIGGERS],
}


def gold_revision_install(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in _DROP:
        raise RuntimeError(f"the gold revision has triggers for PostgreSQL and SQLite only, not {vendor}")
    for statement in _postgresql() if vendor == "postgresql" else _sqlite():
        schema_editor.execute(statement, params=None)


def gold_revision_uninstall(apps, schema_editor) -> None:
    for statement in _DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0007_label_counters"),
    ]

    operations = [
        # A plain ADD COLUMN: Django's AddField remakes the table on SQLite, which drops 0007's trigger on
        # labeling_project and breaks those on other tables that name it.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="project",
                    name="gold_revision",
                    field=models.BigIntegerField(default=0, editable=False),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE labeling_project ADD COLUMN gold_revision bigint NOT NULL DEFAULT 0",
                    "ALTER TABLE labeling_project DROP COLUMN gold_revision",
                ),
            ],
        ),
        migrations.RunPython(gold_revision_install, gold_revision_uninstall),
    ]
