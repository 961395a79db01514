"""The data the security tests open pages on: the demo project, one user per role in it, and one of every
object a URL can name (a finished judge run with judgments, bullets, a library instruction, an
optimization run, prompt versions, an import job, API tokens, a label of each labeler); and a second
project, another team's, with one of every object too, of which none of those users is a member."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone

from judging.demo import demo_seed
from judging.models import ApiToken, JudgeRun, ModelEndpoint, PromptVersion
from judging.tokens import token_create, token_hash
from labeling.models import ImportJob, Item, Label, Project
from labeling.roles import ANNOTATOR, LEAD, REVIEWER, membership_set
from optimizer.bullets import bullets_generate_from_run
from optimizer.models import Bullet, LibraryInstruction, OptimizationRun
from tests.conftest import PASSWORD
from tests.optimizer.disagreements import Row, run_make

# Who asks: nobody logged in, a user without a role, then the three roles from lowest to highest.
ANONYMOUS, NO_ROLE = "anonymous", "no role"
PEOPLE = (ANONYMOUS, NO_ROLE, ANNOTATOR, REVIEWER, LEAD)
USERNAMES = {NO_ROLE: "mallory", ANNOTATOR: "alice", REVIEWER: "bob", LEAD: "carol"}
# The other team's lead: the only member of the other project.
OTHER_LEAD = "dave"


@dataclass
class Objects:
    """One project's objects that URLs name: what a route's kwargs read (World holds the first project's
    directly, and `other` for the other team's)."""

    project: Project
    item: Item
    run: JudgeRun
    version: PromptVersion
    candidate: PromptVersion
    bullet: Bullet
    instruction: LibraryInstruction
    optimization: OptimizationRun
    import_job: ImportJob
    labels: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)

    def own_label(self, person: str) -> Label:
        return self.labels.get(person, self.labels[ANNOTATOR])

    def own_token(self, person: str) -> ApiToken:
        return self.tokens.get(person, self.tokens[REVIEWER])


@dataclass
class World:
    project: Project
    users: dict  # person -> User (no entry for anonymous)
    item: Item
    run: JudgeRun
    version: PromptVersion
    candidate: PromptVersion
    endpoint: ModelEndpoint
    bullet: Bullet
    instruction: LibraryInstruction
    optimization: OptimizationRun
    import_job: ImportJob
    labels: dict = field(default_factory=dict)  # person -> that person's own label
    tokens: dict = field(default_factory=dict)  # person -> that person's own ApiToken
    secrets: dict = field(default_factory=dict)  # person -> the token's secret
    other: Objects | None = None  # the other team's project, where nobody above is a member

    def user(self, person: str):
        return self.users.get(person)

    def own_label(self, person: str) -> Label:
        """The person's label, or (for someone who labels nothing) the annotator's."""
        return self.labels.get(person, self.labels[ANNOTATOR])

    def own_token(self, person: str) -> ApiToken:
        return self.tokens.get(person, self.tokens[REVIEWER])


def users_make(*projects: Project) -> dict:
    """One user per person; each holds the person's role in every project given (the user without a role
    is a member of none)."""
    users = {}
    for person, username in USERNAMES.items():
        user = get_user_model().objects.create_user(username=username, password=PASSWORD)
        if person != NO_ROLE:
            for project in projects:
                membership_set(project=project, user=user, role=person)
        users[person] = user
    return users


_ROWS = [
    Row("train", gold=1, judge=5, query="security train one", document="A page about security."),
    Row("train", gold=5, judge=1, query="security train two", document="A second page."),
    Row("dev", gold=2, judge=4, query="security dev", document="A third page."),
    Row("test", gold=3, judge=3, query="security test", document="A fourth page."),
]


def objects_build(project: Project, *, labeler, reviewer, lead) -> Objects:
    """One of every object a URL can name, in `project`: a finished judge run (its prompt version, a
    candidate version, its bullets), a library instruction, a finished optimization run, an import job."""
    run = run_make(project, labeler, _ROWS)
    version = run.prompt_version
    candidate = PromptVersion.objects.create(
        project=project,
        target_model=version.target_model,
        parent=version,
        instructions=version.instructions + " Say why in one sentence.",
        origin="hand-written",
        status=PromptVersion.Status.CANDIDATE,
    )
    bullets_generate_from_run(run=run, user=reviewer)
    item = run.judgments.order_by("id").first().item
    return Objects(
        project=project,
        item=item,
        run=run,
        version=version,
        candidate=candidate,
        bullet=Bullet.objects.filter(project=project).order_by("id").first(),
        instruction=LibraryInstruction.objects.create(
            project=project, text="Check that the document answers the question, not only its words."
        ),
        optimization=OptimizationRun.objects.create(
            project=project,
            base_version=version,
            target_endpoint=version.target_model,
            reflection_endpoint=ModelEndpoint.objects.get(name="sim/reflector"),
            status=OptimizationRun.Status.DONE,
            best_version=candidate,
            finished_at=timezone.now(),
            created_by=lead,
        ),
        import_job=ImportJob.objects.create(
            project=project,
            created_by=lead,
            file_name="items.csv",
            stored_path="/nonexistent/items.csv",
            status=ImportJob.Status.DONE,
            finished_at=timezone.now(),
        ),
        labels={ANNOTATOR: item.labels.get(annotator=labeler)},
    )


def other_team_build() -> Objects:
    """Another team's project with one of every object, its lead the only member."""
    project = Project.objects.create(name="Other team", slug="other-team", rubric="Rate the answer.")
    lead = get_user_model().objects.create_user(username=OTHER_LEAD, password=PASSWORD)
    membership_set(project=project, user=lead, role=LEAD)
    return objects_build(project, labeler=lead, reviewer=lead, lead=lead)


def world_build() -> World:
    project = demo_seed().project
    users = users_make(project)
    own = objects_build(project, labeler=users[ANNOTATOR], reviewer=users[REVIEWER], lead=users[LEAD])
    labels = dict(own.labels)
    for person in (REVIEWER, LEAD):
        labels[person] = Label.objects.create(item=own.item, annotator=users[person], score=3, rationale="ok")
    tokens, secrets = {}, {}
    for person, scopes in ((REVIEWER, ["prompts:read", "metrics:read"]), (LEAD, ["items:write"])):
        created = token_create(user=users[person], name=f"{person} service", scopes=scopes)
        tokens[person], secrets[person] = created.token, created.secret
    # An annotator's role allows no scope: a token left from a former role, so that it has one to revoke.
    tokens[ANNOTATOR] = ApiToken.objects.create(
        user=users[ANNOTATOR],
        name="old",
        prefix="fw_old00",
        token_hash=token_hash("fw_old00-left"),
        scopes=[],
    )
    return World(
        project=project,
        users=users,
        item=own.item,
        run=own.run,
        version=own.version,
        candidate=own.candidate,
        endpoint=ModelEndpoint.objects.get(name="sim/judge-small"),
        bullet=own.bullet,
        instruction=own.instruction,
        optimization=own.optimization,
        import_job=own.import_job,
        labels=labels,
        tokens=tokens,
        secrets=secrets,
        other=other_team_build(),
    )


FLYWHEEL_APPS = ("labeling", "judging", "optimizer")


def database_state() -> dict:
    """Every row of Flywheel's own tables and every user's groups: equal before and after a refused
    request means the request changed nothing."""
    state = {}
    for label in FLYWHEEL_APPS:
        for model in apps.get_app_config(label).get_models():
            state[model._meta.label] = list(model.objects.order_by("pk").values())
    state["groups"] = sorted(get_user_model().groups.through.objects.values_list("user_id", "group_id"))
    state["users"] = sorted(get_user_model().objects.values_list("username", "is_active", "is_staff"))
    return state
