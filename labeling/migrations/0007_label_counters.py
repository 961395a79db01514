"""Label counters: Item.label_count, Project.items_open and AnnotatorProgress, filled from the labels
already there and kept from then on by triggers, on PostgreSQL and SQLite alike."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# The counters' rules, as statements over one label row ({r} is NEW or OLD): SQLite runs them in its
# triggers, PostgreSQL for a label moved to another item or annotator (row by row), and counts inserts and
# deletes a statement at a time with the same rules over many rows (_PG_LABELS_ADDED and _REMOVED below).
# Every path that writes labels (the labeling page, undo, imports, the demo, the admin, bulk_create,
# cascades) keeps the counters right without knowing they exist, in the statement that writes the label.
#
# SQLite's are BEFORE row triggers: they run as each row is written and see the rows written before it.
# The row itself is not in the table yet (insert) or still is (delete): hence "id <> {r}.id". The price:
# an INSERT … ON CONFLICT would count its conflicting rows too, so nothing upserts labels (the import
# inserts new ones and updates the others).
_ITEM = "(SELECT project_id FROM labeling_item WHERE id = {r}.item_id)"
_TARGET_REACHED = (
    "EXISTS (SELECT 1 FROM labeling_item i JOIN labeling_project p ON p.id = i.project_id "
    "WHERE i.id = {r}.item_id AND i.label_count{offset} = p.labels_per_item)"
)
# 0 when the item or its project is gone already (a flush empties the tables in any order).
_WAS_OPEN = (
    "COALESCE((SELECT CASE WHEN i.label_count{offset} < p.labels_per_item THEN 1 ELSE 0 END "
    "FROM labeling_item i JOIN labeling_project p ON p.id = i.project_id WHERE i.id = {r}.item_id), 0)"
)

LABEL_ADDED = [
    "UPDATE labeling_item SET label_count = label_count + 1 WHERE id = {r}.item_id",
    "INSERT INTO labeling_annotatorprogress (project_id, annotator_id, labels, labels_on_open_items) "
    "SELECT project_id, {r}.annotator_id, 0, 0 FROM labeling_item WHERE id = {r}.item_id "
    "ON CONFLICT (project_id, annotator_id) DO NOTHING",
    "UPDATE labeling_annotatorprogress SET labels = labels + 1, "
    f"labels_on_open_items = labels_on_open_items + {_WAS_OPEN.replace('{offset}', '')} "
    f"WHERE annotator_id = {{r}}.annotator_id AND project_id = {_ITEM}",
    # The label that brings the item to its target closes it, for everyone who labeled it too.
    "UPDATE labeling_project SET items_open = items_open - 1 "
    f"WHERE id = {_ITEM} AND labels_per_item = (SELECT label_count FROM labeling_item WHERE id = {{r}}.item_id)",
    "UPDATE labeling_annotatorprogress SET labels_on_open_items = labels_on_open_items - 1 "
    f"WHERE project_id = {_ITEM} AND annotator_id IN (SELECT annotator_id FROM labeling_label "
    "WHERE item_id = {r}.item_id AND annotator_id <> {r}.annotator_id AND id <> {r}.id) "
    f"AND {_TARGET_REACHED.replace('{offset}', '')}",
]
LABEL_REMOVED = [
    "UPDATE labeling_item SET label_count = label_count - 1 WHERE id = {r}.item_id",
    "UPDATE labeling_annotatorprogress SET labels = labels - 1, "
    f"labels_on_open_items = labels_on_open_items - {_WAS_OPEN.replace('{offset}', ' + 1')} "
    f"WHERE annotator_id = {{r}}.annotator_id AND project_id = {_ITEM}",
    # Taking the item below its target opens it again, for those who labeled it too.
    "UPDATE labeling_project SET items_open = items_open + 1 "
    f"WHERE id = {_ITEM} AND labels_per_item = "
    "(SELECT label_count + 1 FROM labeling_item WHERE id = {r}.item_id)",
    "UPDATE labeling_annotatorprogress SET labels_on_open_items = labels_on_open_items + 1 "
    f"WHERE project_id = {_ITEM} AND annotator_id IN (SELECT annotator_id FROM labeling_label "
    "WHERE item_id = {r}.item_id AND id <> {r}.id) "
    f"AND {_TARGET_REACHED.replace('{offset}', ' + 1')}",
]
ITEM_ADDED = [
    "UPDATE labeling_project SET items_open = items_open + 1 "
    "WHERE id = {r}.project_id AND {r}.label_count < labels_per_item"
]
ITEM_REMOVED = [
    "UPDATE labeling_project SET items_open = items_open - 1 "
    "WHERE id = {r}.project_id AND {r}.label_count < labels_per_item"
]
# A new labels_per_item: which items are open changes all at once; count again (one project, rarely).
TARGET_CHANGED = [
    "UPDATE labeling_project SET items_open = (SELECT COUNT(*) FROM labeling_item "
    "WHERE project_id = {r}.id AND label_count < {r}.labels_per_item) WHERE id = {r}.id",
    "UPDATE labeling_annotatorprogress SET labels_on_open_items = (SELECT COUNT(*) FROM labeling_label l "
    "JOIN labeling_item i ON i.id = l.item_id WHERE i.project_id = {r}.id "
    "AND l.annotator_id = labeling_annotatorprogress.annotator_id AND i.label_count < {r}.labels_per_item) "
    "WHERE project_id = {r}.id",
]
# PostgreSQL only: lock the progress rows of everyone who labeled the item in one order (by annotator)
# before updating any, so that two labels closing two items that share annotators cannot deadlock.
_PG_LOCK_PROGRESS = (
    f"PERFORM 1 FROM labeling_annotatorprogress WHERE project_id = {_ITEM} AND annotator_id IN "
    "(SELECT annotator_id FROM labeling_label WHERE item_id = {r}.item_id UNION SELECT {r}.annotator_id) "
    "ORDER BY annotator_id FOR UPDATE"
)

# PostgreSQL counts a whole statement at once (statement triggers over its transition table, `changed`):
# one UPDATE of each counter row per statement. Row by row, an import of n labels in one transaction
# would update one project row (and one annotator's row) n times, and PostgreSQL walks every earlier
# version of a row to update it again: 16,000 items took 15.5 s that way, 2,000 took 0.6 s.
# The same rules as the row statements above, for many rows: before/after are the item's label counts
# around the statement, t its project's labels_per_item.
_PG_TOUCHED = (
    "SELECT i.id, i.project_id, i.label_count AS before, i.label_count {sign} k.n AS after, "
    "p.labels_per_item AS t FROM (SELECT item_id, COUNT(*) AS n FROM changed GROUP BY item_id) k "
    "JOIN labeling_item i ON i.id = k.item_id JOIN labeling_project p ON p.id = i.project_id"
)
_PG_LOCK_TOUCHED = (
    "PERFORM 1 FROM labeling_annotatorprogress a JOIN (SELECT DISTINCT i.project_id, l.annotator_id "
    "FROM labeling_label l JOIN labeling_item i ON i.id = l.item_id "
    "WHERE l.item_id IN (SELECT item_id FROM changed)) w "
    "ON w.project_id = a.project_id AND w.annotator_id = a.annotator_id ORDER BY a.id FOR UPDATE OF a"
)
_OPEN = "CASE WHEN c.{when} < c.t THEN 1 ELSE 0 END"
_PG_LABELS_ADDED = [
    "INSERT INTO labeling_annotatorprogress (project_id, annotator_id, labels, labels_on_open_items) "
    "SELECT DISTINCT i.project_id, n.annotator_id, 0, 0 FROM changed n "
    "JOIN labeling_item i ON i.id = n.item_id ON CONFLICT (project_id, annotator_id) DO NOTHING",
    _PG_LOCK_TOUCHED,
    f"WITH c AS ({_PG_TOUCHED.format(sign='+')}) UPDATE labeling_annotatorprogress a "
    "SET labels = a.labels + d.labels, labels_on_open_items = a.labels_on_open_items + d.opened FROM ("
    "SELECT c.project_id, l.annotator_id, SUM(CASE WHEN n.id IS NULL THEN 0 ELSE 1 END) AS labels, "
    f"SUM({_OPEN.format(when='after')} - CASE WHEN n.id IS NULL AND c.before < c.t THEN 1 ELSE 0 END) "
    "AS opened FROM c JOIN labeling_label l ON l.item_id = c.id LEFT JOIN changed n ON n.id = l.id "
    "GROUP BY c.project_id, l.annotator_id) d "
    "WHERE a.project_id = d.project_id AND a.annotator_id = d.annotator_id",
    f"WITH c AS ({_PG_TOUCHED.format(sign='+')}) UPDATE labeling_project p "
    "SET items_open = p.items_open - d.closed FROM (SELECT c.project_id, "
    "SUM(CASE WHEN c.before < c.t AND c.after >= c.t THEN 1 ELSE 0 END) AS closed "
    "FROM c GROUP BY c.project_id) d WHERE p.id = d.project_id AND d.closed <> 0",
    "UPDATE labeling_item i SET label_count = i.label_count + k.n "
    "FROM (SELECT item_id, COUNT(*) AS n FROM changed GROUP BY item_id) k WHERE i.id = k.item_id",
]
_PG_LABELS_REMOVED = [
    _PG_LOCK_TOUCHED,
    f"WITH c AS ({_PG_TOUCHED.format(sign='-')}) UPDATE labeling_annotatorprogress a "
    "SET labels = a.labels + d.labels, labels_on_open_items = a.labels_on_open_items + d.opened FROM ("
    "SELECT project_id, annotator_id, SUM(labels) AS labels, SUM(opened) AS opened FROM ("
    f"SELECT c.project_id, r.annotator_id, -1 AS labels, -({_OPEN.format(when='before')}) AS opened "
    "FROM changed r JOIN c ON c.id = r.item_id UNION ALL "
    f"SELECT c.project_id, l.annotator_id, 0, {_OPEN.format(when='after')} - {_OPEN.format(when='before')} "
    "FROM labeling_label l JOIN c ON c.id = l.item_id) x GROUP BY project_id, annotator_id) d "
    "WHERE a.project_id = d.project_id AND a.annotator_id = d.annotator_id",
    f"WITH c AS ({_PG_TOUCHED.format(sign='-')}) UPDATE labeling_project p "
    "SET items_open = p.items_open + d.opened FROM (SELECT c.project_id, "
    "SUM(CASE WHEN c.before >= c.t AND c.after < c.t THEN 1 ELSE 0 END) AS opened "
    "FROM c GROUP BY c.project_id) d WHERE p.id = d.project_id AND d.opened <> 0",
    "UPDATE labeling_item i SET label_count = i.label_count - k.n "
    "FROM (SELECT item_id, COUNT(*) AS n FROM changed GROUP BY item_id) k WHERE i.id = k.item_id",
]
_PG_ITEMS = (
    "UPDATE labeling_project p SET items_open = p.items_open {sign} d.n FROM (SELECT c.project_id, "
    "COUNT(*) AS n FROM changed c JOIN labeling_project t ON t.id = c.project_id "
    "WHERE c.label_count < t.labels_per_item GROUP BY c.project_id) d WHERE p.id = d.project_id"
)


def _statements(statements: list[str], row: str) -> str:
    return "".join(f"    {statement.replace('{r}', row)};\n" for statement in statements)


def _postgresql() -> list[str]:
    moved = _statements([_PG_LOCK_PROGRESS, *LABEL_REMOVED], "OLD") + _statements(
        [_PG_LOCK_PROGRESS, *LABEL_ADDED], "NEW"
    )
    # A row trigger returns the row to write (NULL would cancel it); a statement trigger's result is unused.
    functions = {
        "flywheel_labels_added": (_statements(_PG_LABELS_ADDED, ""), "NULL"),
        "flywheel_labels_removed": (_statements(_PG_LABELS_REMOVED, ""), "NULL"),
        "flywheel_label_moved": (moved, "NEW"),
        "flywheel_items_added": (_statements([_PG_ITEMS.format(sign="+")], ""), "NULL"),
        "flywheel_items_removed": (_statements([_PG_ITEMS.format(sign="-")], ""), "NULL"),
        "flywheel_target_counters": (_statements(TARGET_CHANGED, "NEW"), "NULL"),
    }
    sql = [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}"
        f"  RETURN {returns};\nEND\n$$"
        for name, (body, returns) in functions.items()
    ]
    return sql + [
        "CREATE TRIGGER labels_added AFTER INSERT ON labeling_label REFERENCING NEW TABLE AS changed "
        "FOR EACH STATEMENT EXECUTE FUNCTION flywheel_labels_added()",
        "CREATE TRIGGER labels_removed AFTER DELETE ON labeling_label REFERENCING OLD TABLE AS changed "
        "FOR EACH STATEMENT EXECUTE FUNCTION flywheel_labels_removed()",
        "CREATE TRIGGER label_moved BEFORE UPDATE OF item_id, annotator_id ON labeling_label "
        "FOR EACH ROW EXECUTE FUNCTION flywheel_label_moved()",
        "CREATE TRIGGER items_added AFTER INSERT ON labeling_item REFERENCING NEW TABLE AS changed "
        "FOR EACH STATEMENT EXECUTE FUNCTION flywheel_items_added()",
        "CREATE TRIGGER items_removed AFTER DELETE ON labeling_item REFERENCING OLD TABLE AS changed "
        "FOR EACH STATEMENT EXECUTE FUNCTION flywheel_items_removed()",
        "CREATE TRIGGER target_counters AFTER UPDATE OF labels_per_item ON labeling_project FOR EACH ROW "
        "WHEN (OLD.labels_per_item IS DISTINCT FROM NEW.labels_per_item) "
        "EXECUTE FUNCTION flywheel_target_counters()",
    ]


def _sqlite() -> list[str]:
    triggers = {
        "label_counters_insert": ("BEFORE INSERT ON labeling_label", _statements(LABEL_ADDED, "NEW")),
        "label_counters_delete": ("BEFORE DELETE ON labeling_label", _statements(LABEL_REMOVED, "OLD")),
        "label_counters_update": (
            "BEFORE UPDATE OF item_id, annotator_id ON labeling_label",
            _statements(LABEL_REMOVED, "OLD") + _statements(LABEL_ADDED, "NEW"),
        ),
        "item_counters_insert": ("AFTER INSERT ON labeling_item", _statements(ITEM_ADDED, "NEW")),
        "item_counters_delete": ("AFTER DELETE ON labeling_item", _statements(ITEM_REMOVED, "OLD")),
        "target_counters": (
            "AFTER UPDATE OF labels_per_item ON labeling_project "
            "WHEN OLD.labels_per_item <> NEW.labels_per_item",
            _statements(TARGET_CHANGED, "NEW"),
        ),
    }
    return [f"CREATE TRIGGER {name} {when} BEGIN\n{body}END" for name, (when, body) in triggers.items()]


_DROP = {
    "postgresql": [
        *(
            f"DROP TRIGGER IF EXISTS {name} ON {table}"
            for name, table in [
                ("labels_added", "labeling_label"),
                ("labels_removed", "labeling_label"),
                ("label_moved", "labeling_label"),
                ("items_added", "labeling_item"),
                ("items_removed", "labeling_item"),
                ("target_counters", "labeling_project"),
            ]
        ),
        *(
            f"DROP FUNCTION IF EXISTS {name}()"
            for name in (
                "flywheel_labels_added",
                "flywheel_labels_removed",
                "flywheel_label_moved",
                "flywheel_items_added",
                "flywheel_items_removed",
                "flywheel_target_counters",
            )
        ),
    ],
    "sqlite": [
        f"DROP TRIGGER IF EXISTS {name}"
        for name in (
            "label_counters_insert",
            "label_counters_delete",
            "label_counters_update",
            "item_counters_insert",
            "item_counters_delete",
            "target_counters",
        )
    ],
}

# The counters of the labels already there, counted once.
_BACKFILL = [
    "UPDATE labeling_item SET label_count = "
    "(SELECT COUNT(*) FROM labeling_label WHERE labeling_label.item_id = labeling_item.id)",
    "UPDATE labeling_project SET items_open = (SELECT COUNT(*) FROM labeling_item "
    "WHERE labeling_item.project_id = labeling_project.id "
    "AND labeling_item.label_count < labeling_project.labels_per_item)",
    "INSERT INTO labeling_annotatorprogress (project_id, annotator_id, labels, labels_on_open_items) "
    "SELECT i.project_id, l.annotator_id, COUNT(*), "
    "SUM(CASE WHEN i.label_count < p.labels_per_item THEN 1 ELSE 0 END) FROM labeling_label l "
    "JOIN labeling_item i ON i.id = l.item_id JOIN labeling_project p ON p.id = i.project_id "
    "GROUP BY i.project_id, l.annotator_id",
]


def counters_install(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in _DROP:
        raise RuntimeError(f"the label counters have triggers for PostgreSQL and SQLite only, not {vendor}")
    for statement in _BACKFILL + (_postgresql() if vendor == "postgresql" else _sqlite()):
        schema_editor.execute(statement, params=None)


def counters_uninstall(apps, schema_editor) -> None:
    for statement in _DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0006_memberships_from_global_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="label_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="project",
            name="items_open",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.CreateModel(
            name="AnnotatorProgress",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("labels", models.PositiveIntegerField(default=0)),
                ("labels_on_open_items", models.PositiveIntegerField(default=0)),
                (
                    "annotator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="labeling.project"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("project", "annotator"), name="one_progress_per_annotator"
                    )
                ],
            },
        ),
        migrations.RunPython(counters_install, counters_uninstall),
    ]
