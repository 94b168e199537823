"""The persona pages: list, editor with its live chain, history with revert, delete."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from personas.models import Persona, PersonaChange, PersonaFallback, PersonaTaskOverride
from personas.services import persona_apply
from routing.models import Default, Model, Task
from tests.factories import model, provider

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
GPT, MINI, CLAUDE, ECHO = "openai:gpt-4o", "openai:gpt-4o-mini", "anthropic:claude-sonnet-4", "echo:echo"


@pytest.fixture
def catalog():
    openai, echo = provider("openai"), provider("echo", "echo")
    anthropic = provider("anthropic", "anthropic")
    gpt = model(openai, "gpt-4o")
    model(openai, "gpt-4o-mini")
    model(anthropic, "claude-sonnet-4")
    echo_text = model(echo, "echo")
    model(echo, "echo-image", modality="image")
    openai.default_model = gpt
    openai.save()
    Task.objects.create(name="review")
    Default.objects.create(modality="text", model=echo_text)


@pytest.fixture
def smith(catalog):
    data = {"slug": "scene_smith", "name": "Scene Smith", "description": "Writes scenes",
            "model": GPT, "fallbacks": [CLAUDE], "params": {"temperature": 0.7},
            "task_overrides": {"review": {"model": MINI, "params": {}}}}
    return persona_apply(data=data, actor="fixture").obj


def form(**fields) -> dict:
    """What the editor posts for a text persona, with `fields` changed."""
    data = {"slug": "lore_weaver", "name": "Lore Weaver", "description": "", "modality": "",
            "system_prompt": "You invent myths.", "model": ECHO, "fallbacks": [], "temperature": "",
            "max_tokens": "", "other_params": "", "override_task": [], "override_model": [],
            "override_params": [], "is_enabled": "on", "new_fallback": "", "preview_task": "", "op": "save"}
    data.update(fields)
    return data


def chain_of(html: str) -> list[str]:
    """The handles of the resolved chain, in order."""
    block = html.split('id="chain-entries"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'<code class="handle">([^<]+)</code>', block)


class FormValues(HTMLParser):
    """What a browser would submit from the editor form (`#editor`), without a button."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.inside: tuple[str, str] | None = None  # (tag, name) of an open select or textarea
        self.in_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.in_form = a.get("id") == "editor"
        if not self.in_form or "name" not in a and tag != "option":
            return
        if tag == "input" and a.get("type") != "checkbox" or tag == "input" and "checked" in a:
            self.data.setdefault(a["name"], []).append(a.get("value", "on"))
        elif tag in ("select", "textarea"):
            self.inside = (tag, a["name"])
            self.data.setdefault(a["name"], []).append("")
        elif tag == "option" and self.inside and "selected" in a:
            self.data[self.inside[1]][-1] = a.get("value", "")

    def handle_data(self, data):
        if self.inside and self.inside[0] == "textarea":
            self.data[self.inside[1]][-1] += data

    def handle_endtag(self, tag):
        if tag in ("select", "textarea"):
            self.inside = None
        elif tag == "form":
            self.in_form = False


def values_of(html: str) -> dict[str, list[str]]:
    parser = FormValues()
    parser.feed(html)
    parser.data.pop("csrfmiddlewaretoken", None)
    return parser.data


# ---- access -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, args", [("list", []), ("new", []), ("edit", ["scene_smith"]),
                                        ("history", ["scene_smith"])])
def test_pages_need_a_staff_login(client, django_user_model, smith, name, args):
    url = reverse(f"personas:{name}", args=args)
    assert client.get(url)["Location"].startswith("/login/")
    client.force_login(django_user_model.objects.create_user("app-dev", password="x"))
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("method, name, args", [
    ("get", "edit", ["nobody"]), ("get", "history", ["nobody"]), ("post", "delete", ["nobody"]),
    ("post", "revert", ["scene_smith", 999_999]), ("post", "edit", ["nobody"]),
])
def test_unknown_personas_and_changes_are_404(admin_client, smith, method, name, args):
    assert getattr(admin_client, method)(reverse(f"personas:{name}", args=args)).status_code == 404


def test_posts_need_the_csrf_token(smith, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(reverse("personas:new"), form()).status_code == 403
    assert client.post(reverse("personas:delete", args=["scene_smith"])).status_code == 403
    assert not Persona.objects.filter(slug="lore_weaver").exists()
    assert Persona.objects.filter(slug="scene_smith").exists()


def test_deleting_and_reverting_refuse_a_get(admin_client, smith):
    change = smith.changes.get()
    assert admin_client.get(reverse("personas:delete", args=["scene_smith"])).status_code == 405
    assert admin_client.get(reverse("personas:revert", args=["scene_smith", change.pk])).status_code == 405


# ---- the list -------------------------------------------------------------------------------


def test_the_list_shows_each_persona_with_its_chain_in_brief(admin_client, smith):
    persona_apply(data={"slug": "gatekeeper", "provider": "openai", "is_enabled": False})
    html = admin_client.get(reverse("personas:list")).content.decode()
    assert 'href="/personas/scene_smith/"' in html and "Scene Smith" in html
    assert f"<code>{GPT}</code>" in html and '<td class="num">1</td>' in html and "review" in html
    assert "<code>openai</code> <span class=\"muted\">(default model)</span>" in html
    assert '<span class="badge disabled">disabled</span>' in html
    assert 'href="/personas/new/"' in html


@pytest.mark.parametrize("query, shown", [
    ("q=myths", {"lore_weaver"}),
    ("q=SMITH", {"scene_smith"}),
    ("modality=image", {"illustrator"}),
    ("provider=anthropic", {"lore_weaver"}),
    (f"model={CLAUDE}", {"scene_smith", "lore_weaver"}),  # as a fallback too
    (f"model={MINI}", {"scene_smith"}),  # as a task override
    ("enabled=no", {"illustrator"}),
    ("modality=smell&enabled=maybe&model=nohandle&page=x", {"scene_smith", "lore_weaver", "illustrator"}),
])
def test_the_list_filters(admin_client, smith, query, shown):
    persona_apply(data={"slug": "lore_weaver", "description": "Invents myths", "model": CLAUDE})
    persona_apply(data={"slug": "illustrator", "is_enabled": False})
    response = admin_client.get(f"{reverse('personas:list')}?{query}", **HX)
    listed = set(re.findall(r'href="/personas/([^/"]+)/"', response.content.decode()))
    assert response.status_code == 200 and listed == shown


def test_the_list_names_the_filters_it_ignored(admin_client, catalog):
    html = admin_client.get(f"{reverse('personas:list')}?modality=smell").content.decode()
    assert "Ignored modality &#x27;smell&#x27;" in html


def test_htmx_gets_the_table_alone(admin_client, smith):
    response = admin_client.get(f"{reverse('personas:list')}?q=smith", **HX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="persona-table"') and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_the_list_is_paged(admin_client, catalog):
    Persona.objects.bulk_create(Persona(slug=f"p{n:02}", modality="text") for n in range(30))
    first = admin_client.get(reverse("personas:list")).content.decode()
    second = admin_client.get(f"{reverse('personas:list')}?page=2").content.decode()
    assert "p24" in first and "p25" not in first and "Page 1 of 2" in first
    assert "p25" in second and "p29" in second and "p00" not in second


def _build_personas(first: int, count: int) -> None:
    gpt, claude, mini = (Model.objects.get(name=n) for n in ("gpt-4o", "claude-sonnet-4", "gpt-4o-mini"))
    review = Task.objects.get(name="review")
    personas = Persona.objects.bulk_create(
        Persona(slug=f"bulk{n:03}", modality="text", model=gpt) for n in range(first, first + count)
    )
    PersonaFallback.objects.bulk_create(
        PersonaFallback(persona=p, model=claude, position=1) for p in personas
    )
    PersonaTaskOverride.objects.bulk_create(
        PersonaTaskOverride(persona=p, task=review, model=mini) for p in personas
    )


def test_the_list_costs_the_same_queries_for_3_or_40_personas(admin_client, catalog):
    url = f"{reverse('personas:list')}?model={CLAUDE}"
    _build_personas(0, 3)
    admin_client.get(url)  # warm the session, the user and the routing snapshot
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).content.decode().count('href="/personas/bulk') == 3
    _build_personas(3, 37)
    admin_client.get(url)  # the snapshot is rebuilt once after the bulk rows
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).content.decode().count('href="/personas/bulk') == 25
    # session, user, count, the picker's models, the personas (with model, provider and
    # fallback count), their task overrides with tasks; the routing snapshot is warm
    assert len(few) == len(many) == 6


# ---- creating and editing -------------------------------------------------------------------------


def test_creating_a_persona_stores_it_with_its_history(admin_client, catalog):
    data = form(fallbacks=[GPT, CLAUDE], temperature="0.4", other_params='{"seed": 7}',
                override_task=["review"], override_model=[MINI], override_params=['{"temperature": 0}'])
    response = admin_client.post(reverse("personas:new"), data)
    assert response.status_code == 303 and response["Location"] == "/personas/lore_weaver/"
    persona = Persona.objects.get(slug="lore_weaver")
    assert [f.model.handle for f in persona.fallbacks.all()] == [GPT, CLAUDE]
    assert persona.params == {"seed": 7, "temperature": 0.4} and persona.modality == "text"
    assert persona.task_overrides.get().params == {"temperature": 0}
    change = PersonaChange.objects.get(persona_slug="lore_weaver")
    assert (change.action, change.actor) == ("created", "admin")
    assert "Created lore_weaver" in admin_client.get(response["Location"]).content.decode()


def test_with_htmx_a_save_redirects_in_the_browser(admin_client, catalog):
    response = admin_client.post(reverse("personas:new"), form(), **HX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/personas/lore_weaver/"


@pytest.mark.parametrize("fields, named, message", [
    ({"slug": "Bad Slug"}, "slug", "is not a valid name"),
    ({"slug": "scene_smith"}, "slug", "exists already"),
    ({"model": "openai:nope"}, "model", "unknown model"),
    ({"fallbacks": [GPT, GPT]}, "fallbacks", "listed twice"),
    ({"override_task": ["summarise"], "override_model": [MINI], "override_params": [""]},
     "override", "unknown task"),
    ({"temperature": "warm"}, "temperature", "Must be a number"),
    ({"temperature": "7"}, "temperature", "must be between 0 and 2"),
    ({"other_params": "[1]"}, "other_params", "Must be a JSON object"),
    ({"other_params": '{"custom": {"x": NaN}}'}, "other_params", "NaN is not a number JSON knows"),
    ({"other_params": '{"custom": {"x": 1e400}}'}, "other_params", "too large to store"),
    ({"other_params": "[" * 100_000}, "other_params", "Is not valid JSON"),
    ({"fallbacks": ["echo:echo"] * 51}, "fallbacks", "At most 50 fallbacks"),
    ({"modality": "image"}, "model", "echo:echo is a text model"),
])
def test_creating_rejects_what_cannot_be_stored_beside_its_input(
    admin_client, smith, fields, named, message
):
    def stored():
        return Persona.objects.count(), PersonaChange.objects.count(), Persona.objects.get().updated_at

    before = stored()
    response = admin_client.post(reverse("personas:new"), form(name="Kept as typed", **fields), **HX)
    html = response.content.decode()
    assert response.status_code == 422
    assert html.lstrip().startswith('<form id="editor"')
    assert message in html and 'value="Kept as typed"' in html
    # The message sits with its input: after it and before the next field's (buttons aside).
    last = "override_params" if named == "override" else named  # an override row's last input
    position = html.rindex(f'name="{last}"')
    following = re.compile(r'name="(?!op"|%s")' % last).search(html, position + 1)
    assert position < html.index(message.replace("'", "&#x27;")) < following.start()
    flagged = "override_task" if named == "override" else named
    start = html.rindex(f'name="{flagged}"')
    tag = html[html.rindex("<", 0, start) : html.index(">", start)]
    assert 'aria-invalid="true"' in tag or named == "fallbacks"  # a hidden input there
    assert stored() == before


def test_editing_shows_the_stored_persona_and_its_chain(admin_client, smith):
    html = admin_client.get(reverse("personas:edit", args=["scene_smith"])).content.decode()
    assert 'value="Scene Smith"' in html and 'name="temperature" id="id_temperature" value="0.7"' in html
    assert f'<option value="{GPT}" selected>' in html
    assert '<option value="review" selected>' in html and f'<option value="{MINI}" selected>' in html
    assert chain_of(html) == [GPT, CLAUDE, ECHO]
    assert 'href="/personas/scene_smith/playground/"' in html
    assert 'href="/personas/scene_smith/history/"' in html


def test_a_slug_with_a_dot_has_its_pages(admin_client, catalog):
    persona_apply(data={"slug": "bard.v2", "model": GPT})
    for name in ("edit", "history"):
        assert admin_client.get(reverse(f"personas:{name}", args=["bard.v2"])).status_code == 200
    assert 'href="/personas/bard.v2/"' in admin_client.get(reverse("personas:list")).content.decode()


def test_editing_saves_and_records_the_change(admin_client, smith):
    data = form(slug="ignored", name="Scene Smith II", model=MINI, fallbacks=[CLAUDE, GPT],
                temperature="0.7", override_task=["review"], override_model=[MINI], override_params=[""])
    response = admin_client.post(reverse("personas:edit", args=["scene_smith"]), data)
    assert response.status_code == 303 and response["Location"] == "/personas/scene_smith/"
    smith.refresh_from_db()
    assert smith.name == "Scene Smith II" and smith.model.handle == MINI
    assert [f.model.handle for f in smith.fallbacks.all()] == [CLAUDE, GPT]
    assert not Persona.objects.filter(slug="ignored").exists()
    changes = list(smith.changes.values_list("action", "actor"))
    assert changes == [("updated", "admin"), ("created", "fixture")]
    assert "Saved scene_smith" in admin_client.get(response["Location"]).content.decode()


def test_saving_the_form_as_it_opened_changes_nothing(admin_client, smith):
    url = reverse("personas:edit", args=["scene_smith"])
    PersonaTaskOverride.objects.update(params={"temperature": 0.1})
    persona_apply(data={"slug": "scene_smith", "system_prompt": "Line one\nline two\n", "params": {
        "temperature": 1, "max_tokens": 300, "stop": ["END"], "custom": {"x": {"y": 1}}}})
    history = PersonaChange.objects.count()
    sent = values_of(admin_client.get(url).content.decode())
    assert sent["fallbacks"] == [CLAUDE] and sent["override_task"] == ["review"]
    response = admin_client.post(url, sent, follow=True)
    assert "Nothing to save" in response.content.decode()
    assert PersonaChange.objects.count() == history


def test_a_provider_alone_stores_the_provider(admin_client, catalog):
    admin_client.post(reverse("personas:new"), form(model="openai"))
    persona = Persona.objects.get(slug="lore_weaver")
    assert persona.provider.name == "openai" and persona.model is None


# ---- the editor's buttons: nothing is saved ---------------------------------------------------------


@pytest.mark.parametrize("op, fallbacks", [
    ("up:1", [CLAUDE, GPT]), ("down:0", [CLAUDE, GPT]), ("remove:0", [CLAUDE]), ("up:0", [GPT, CLAUDE]),
    ("remove:9", [GPT, CLAUDE]),
])
def test_fallback_buttons_work_without_js_and_save_nothing(admin_client, smith, op, fallbacks):
    url = reverse("personas:edit", args=["scene_smith"])
    response = admin_client.post(url, form(fallbacks=[GPT, CLAUDE], op=op, name="Unsaved"))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert re.findall(r'name="fallbacks" value="([^"]+)"', html) == fallbacks
    assert 'value="Unsaved"' in html
    assert Persona.objects.get().name == "Scene Smith"
    assert [f.model.handle for f in PersonaFallback.objects.all()] == [CLAUDE]


def test_adding_a_fallback_takes_the_picked_model_once(admin_client, catalog):
    url = reverse("personas:new")
    def add(handle: str) -> str:
        data = form(fallbacks=[GPT], new_fallback=handle, op="add_fallback")
        return admin_client.post(url, data, **HX).content.decode()

    html = add(CLAUDE)
    assert re.findall(r'name="fallbacks" value="([^"]+)"', html) == [GPT, CLAUDE]
    again = add(GPT)
    assert f"{GPT} is already a fallback." in again
    assert not Persona.objects.exists()


def test_override_rows_are_added_and_removed(admin_client, catalog):
    url = reverse("personas:new")
    added = admin_client.post(url, form(op="add_override"), **HX).content.decode()
    assert added.count('name="override_task"') == 1
    rows = {"override_task": ["review", ""], "override_model": [MINI, GPT], "override_params": ["", ""]}
    removed = admin_client.post(url, form(op="remove_override:0", **rows), **HX).content.decode()
    assert removed.count('name="override_task"') == 1 and f'<option value="{GPT}" selected>' in removed
    assert not Persona.objects.exists()


# ---- the resolved chain, live ------------------------------------------------------------------------


def test_the_chain_follows_the_unsaved_form(admin_client, smith):
    url = reverse("personas:edit", args=["scene_smith"])
    chain = {**HX, "HTTP_HX_TARGET": "chain"}
    before = admin_client.post(url, form(model=GPT, fallbacks=[CLAUDE, MINI], op="preview"), **chain)
    assert before.content.decode().lstrip().startswith('<div id="chain"')
    assert chain_of(before.content.decode()) == [GPT, CLAUDE, MINI, ECHO]
    moved = admin_client.post(url, form(model=GPT, fallbacks=[CLAUDE, MINI], op="up:1"), **HX)
    moved = moved.content.decode()
    assert chain_of(moved) == [GPT, MINI, CLAUDE, ECHO]
    assert [f.model.handle for f in PersonaFallback.objects.all()] == [CLAUDE]


def test_the_chain_resolves_for_a_task_with_the_persona_override(admin_client, smith):
    data = form(model=GPT, override_task=["review"], override_model=[MINI], override_params=[""],
                preview_task="review", op="preview")
    html = admin_client.post(reverse("personas:new"), data, HTTP_HX_TARGET="chain", **HX).content.decode()
    assert chain_of(html) == [MINI, GPT, ECHO] and "persona task" in html


def test_the_chain_drops_models_of_another_modality_and_says_why(admin_client, catalog):
    data = form(modality="image", model=GPT, fallbacks=["echo:echo-image"], op="preview")
    html = admin_client.post(reverse("personas:new"), data, HTTP_HX_TARGET="chain", **HX).content.decode()
    assert chain_of(html) == ["echo:echo-image"]
    dropped = html.split('id="chain-dropped"', 1)[1]
    assert GPT in dropped and "wrong_modality" in dropped and "the request is image" in dropped


def test_unknown_handles_show_as_a_problem_in_the_chain(admin_client, catalog):
    data = form(model="openai:gpt-9", fallbacks=["nowhere:x"], preview_task="nosuch", op="preview")
    response = admin_client.post(reverse("personas:new"), data, HTTP_HX_TARGET="chain", **HX)
    html = response.content.decode()
    assert response.status_code == 200 and chain_of(html) == [ECHO]
    assert "no model openai:gpt-9" in html and "no provider &#x27;nowhere&#x27;" in html
    assert "task nosuch is not stored" in html


def test_changing_the_modality_rerenders_the_editor_for_it(admin_client, catalog):
    data = form(slug="illustrator", modality="", model="", temperature="0.5", op="refresh")
    html = admin_client.post(reverse("personas:new"), data, **HX).content.decode()
    assert "detect from the slug (image for illustrator)" in html and 'name="width"' in html
    assert 'name="temperature" id="id_temperature" value="0.5"' in html  # kept, not dropped
    picker = html.split('id="id_model"')[1].split("</select>")[0]
    assert '<optgroup label="echo">' in picker and f'value="{GPT}"' not in picker


# ---- history, revert, delete ---------------------------------------------------------------------------


def test_the_history_lists_changes_with_what_changed(admin_client, smith):
    persona_apply(data={"slug": "scene_smith", "model": MINI, "system_prompt": "New"}, actor="api:ci")
    html = admin_client.get(reverse("personas:history", args=["scene_smith"])).content.decode()
    assert f"system prompt; model: {GPT} → {MINI}" in html
    assert "api:ci" in html and "fixture" in html and html.count("revert to this") == 1


def test_the_history_is_paged(admin_client, smith):
    for n in range(30):
        persona_apply(data={"slug": "scene_smith", "name": f"Name {n}"})
    first = admin_client.get(reverse("personas:history", args=["scene_smith"])).content.decode()
    url = reverse("personas:history", args=["scene_smith"])
    page = admin_client.get(f"{url}?page=2", **HX).content.decode()
    assert "Page 1 of 2" in first and "name: Name 28 → Name 29" in first
    assert page.lstrip().startswith('<div id="changes"') and "name: Name 3 → Name 4" in page
    assert "name: Name 4 → Name 5" not in page  # on page 1: the last row of page 2 still has its diff
    assert "Name 0" in page and "created with" in page


def test_reverting_restores_an_older_snapshot_as_a_new_change(admin_client, smith):
    first = smith.changes.get()
    persona_apply(data={"slug": "scene_smith", "model": MINI, "fallbacks": []})
    response = admin_client.post(reverse("personas:revert", args=["scene_smith", first.pk]))
    assert response.status_code == 303 and response["Location"] == "/personas/scene_smith/"
    smith.refresh_from_db()
    assert smith.model.handle == GPT and [f.model.handle for f in smith.fallbacks.all()] == [CLAUDE]
    assert smith.changes.count() == 3 and smith.changes.first().actor == "admin"
    assert "Reverted scene_smith" in admin_client.get("/personas/scene_smith/").content.decode()


def test_deleting_keeps_the_history_and_a_revert_restores(admin_client, smith):
    response = admin_client.post(reverse("personas:delete", args=["scene_smith"]))
    assert response.status_code == 303 and response["Location"] == "/personas/"
    assert not Persona.objects.exists()
    history = admin_client.get(reverse("personas:history", args=["scene_smith"]))
    assert history.status_code == 200 and "restore" in history.content.decode()
    deleted = PersonaChange.objects.get(action="deleted")
    admin_client.post(reverse("personas:revert", args=["scene_smith", deleted.pk]))
    assert Persona.objects.get().model.handle == GPT


def test_a_revert_the_store_refuses_says_why(admin_client, smith):
    change = smith.changes.get()
    PersonaChange.objects.filter(pk=change.pk).update(snapshot={**change.snapshot, "model": "openai:gone"})
    response = admin_client.post(reverse("personas:revert", args=["scene_smith", change.pk]), follow=True)
    assert response.status_code == 200 and "Could not revert" in response.content.decode()
    assert Persona.objects.get().model.handle == GPT
