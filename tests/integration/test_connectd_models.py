"""anki-connectd note type actions (ankiconnect.md §3.6): reading, creating,
and every change with Anki's validation and its effect on notes and cards."""
import pytest

from connectd_client import Daemon, basic_note, check_collection, open_db

STOCK_CSS = (".card {\n    font-family: arial;\n    font-size: 20px;\n    line-height: 1.5;\n"
             "    text-align: center;\n    color: black;\n    background-color: white;\n}\n")


@pytest.fixture
def d(procs, tmp_path):
    dm = Daemon(procs, tmp_path)
    yield dm
    if dm.proc.p.poll() is None:
        assert dm.stop() == 0
        check_collection(dm.col)


def schema_time(d):
    db = open_db(d.col)
    scm = db.execute("select scm from col").fetchone()[0]
    db.close()
    return scm


def test_reading(d):
    names = d.result("modelNames")
    assert names == ["Basic", "Basic (and reversed card)", "Basic (optional reversed card)",
                     "Basic (type in the answer)", "Cloze", "Image Occlusion"]
    ids = d.result("modelNamesAndIds")
    assert list(ids) == names
    assert d.result("modelNameFromId", modelId=ids["Cloze"]) == "Cloze"
    assert d.error("modelNameFromId", modelId=5) == "model was not found: 5"
    assert d.result("modelFieldNames", modelName="basic") == ["Front", "Back"]
    assert d.result("modelFieldNames", modelName="Cloze") == ["Text", "Back Extra"]
    assert d.error("modelFieldNames", modelName="Nope") == "model was not found: Nope"
    assert d.result("modelFieldDescriptions", modelName="Basic") == ["", ""]
    assert d.result("modelFieldFonts", modelName="Basic") == {
        "Front": {"font": "Arial", "size": 20}, "Back": {"font": "Arial", "size": 20}}
    assert d.result("modelFieldsOnTemplates", modelName="Basic") == {
        "Card 1": [["Front"], ["Back"]]}
    assert d.result("modelFieldsOnTemplates", modelName="Cloze") == {
        "Cloze": [["Text"], ["Back Extra"]]}
    assert d.result("modelTemplates", modelName="Basic") == {"Card 1": {
        "Front": "{{Front}}", "Back": "{{FrontSide}}\n\n<hr id=answer>\n\n{{Back}}"}}
    assert d.result("modelStyling", modelName="Basic") == {"css": STOCK_CSS}
    m = d.result("findModelsById", modelIds=[ids["Basic"]])[0]
    assert m["name"] == "Basic" and m["type"] == 0 and [f["name"] for f in m["flds"]] == [
        "Front", "Back"]
    assert m["tmpls"][0]["qfmt"] == "{{Front}}" and m["req"] == [[0, "any", [0]]]
    assert d.error("findModelsById", modelIds=[ids["Basic"], 77]) == "model was not found: 77"
    assert d.result("findModelsByName", modelNames=["cloze"])[0]["type"] == 1
    assert d.error("findModelsByName", modelNames=["X"]) == "model was not found: X"


def test_create_model(d):
    assert d.error("createModel", modelName="M", inOrderFields=[], cardTemplates=[{}]) == \
        "Must provide at least one field for inOrderFields"
    assert d.error("createModel", modelName="M", inOrderFields=["A"], cardTemplates=[]) == \
        "Must provide at least one card for cardTemplates"
    assert d.error("createModel", modelName="Basic", inOrderFields=["A"],
                   cardTemplates=[{"Front": "{{A}}", "Back": "x"}]) == "Model name already exists"
    assert d.error("createModel", modelName="M", inOrderFields=["A"],
                   cardTemplates=[{"Back": "x"}]) == "'Front'"
    assert d.error("createModel", modelName="M", inOrderFields=["A"],
                   cardTemplates=[{"Front": "{{A}}"}]) == "'Back'"
    e = d.error("createModel", modelName="M", inOrderFields=["A"],
                cardTemplates=[{"Front": "no field", "Back": "x"}])
    assert e == ("Card template 1 in note type 'M' has a problem.<br>Expected to find a field "
                 "replacement on the front of the card template.")
    e = d.error("createModel", modelName="M", inOrderFields=["A"],
                cardTemplates=[{"Front": "{{A}}", "Back": "x"}, {"Front": "{{A}}", "Back": "y"}])
    assert e.endswith("The front side is identical to card template 1.")
    e = d.error("createModel", modelName="M", inOrderFields=["A"],
                cardTemplates=[{"Front": "{{B}}", "Back": "x"}])
    assert e.endswith("See the preview for more information.")
    e = d.error("createModel", modelName="CZ", inOrderFields=["T"], isCloze=True,
                cardTemplates=[{"Front": "{{T}}", "Back": "{{T}}"}])
    assert "Expected to find '{{cloze:Text}}'" in e
    m = d.result("createModel", modelName="Vocab", inOrderFields=["Word", "Meaning", "Word"],
                 css=".x{}", cardTemplates=[{"Front": "{{Word}}", "Back": "{{Meaning}}"},
                                            {"Name": "Reverse", "Front": "{{Meaning}}",
                                             "Back": "{{Word}}"}])
    assert m["name"] == "Vocab" and isinstance(m["id"], int) and m["css"] == ".x{}"
    assert [f["name"] for f in m["flds"]] == ["Word", "Meaning", "Word+"]
    assert [t["name"] for t in m["tmpls"]] == ["Card 1", "Reverse"]
    # a case variant slips through AnkiConnect's exact check; Anki renames it
    m2 = d.result("createModel", modelName="vocab", inOrderFields=["A"],
                  cardTemplates=[{"Front": "{{A}}", "Back": ""}])
    assert m2["name"].startswith("vocab-") and len(m2["name"]) == len("vocab-") + 5
    cz = d.result("createModel", modelName="MyCloze", inOrderFields=["Text", "Extra"],
                  isCloze=True, cardTemplates=[{"Front": "{{cloze:Text}}",
                                                "Back": "{{cloze:Text}}<br>{{Extra}}"}])
    assert cz["type"] == 1
    nid = d.result("addNote", note={"deckName": "Default", "modelName": "Vocab",
                                    "fields": {"Word": "w", "Meaning": "m"}})
    assert len(d.result("notesInfo", notes=[nid])[0]["cards"]) == 2


def test_templates_and_styling(d):
    n = d.result("addNote", note=basic_note("front", "back"))
    scm = schema_time(d)
    d.result("updateModelTemplates", model={"name": "Basic", "templates": {
        "Card 1": {"Front": "Q: {{Front}}", "Back": ""}, "Nope": {"Front": "x"}}})
    t = d.result("modelTemplates", modelName="Basic")["Card 1"]
    assert t["Front"] == "Q: {{Front}}" and t["Back"].endswith("{{Back}}")
    d.result("updateModelStyling", model={"name": "Basic", "css": ".card{color:red}"})
    assert d.result("modelStyling", modelName="Basic") == {"css": ".card{color:red}"}
    assert schema_time(d) == scm  # text-only changes are not schema changes
    assert d.error("updateModelTemplates", model={"name": "Nope", "templates": {}}) == \
        "model was not found: Nope"
    assert d.error("updateModelStyling", model={"css": "x"}) == "'name'"
    q = d.result("cardsInfo", cards=d.result("notesInfo", notes=[n])[0]["cards"])[0]["question"]
    assert q.endswith("Q: front") and "color:red" in q
    # find and replace, flat and wrapped forms
    assert d.result("findAndReplaceInModels", modelName="Basic", findText="Q:",
                    replaceText="Question:", front=True, back=False, css=False) == 1
    assert d.result("modelTemplates", modelName="Basic")["Card 1"]["Front"] == \
        "Question: {{Front}}"
    assert d.result("findAndReplaceInModels", model={
        "modelName": "", "findText": "arial", "replaceText": "serif"}) >= 1
    assert "serif" in d.result("modelStyling", modelName="Cloze")["css"]
    assert "missing 1 required positional argument: 'replaceText'" in d.error(
        "findAndReplaceInModels", modelName="Basic", findText="x")


def test_template_add_rename_move_remove(d):
    n = d.result("addNote", note=basic_note("front", "back"))
    scm = schema_time(d)
    d.result("modelTemplateAdd", modelName="Basic",
             template={"Name": "Rev", "Front": "{{Back}}", "Back": "{{Front}}"})
    assert scm < schema_time(d)
    cards = d.result("notesInfo", notes=[n])[0]["cards"]
    assert len(cards) == 2  # the new template generated a card
    info = {c["ord"]: c for c in d.result("cardsInfo", cards=cards)}
    assert info[1]["question"].endswith("back")
    assert d.error("modelTemplateAdd", modelName="Basic", template={"Name": "X"}) == "'Front'"
    assert d.result("modelTemplateAdd", modelName="Basic",
                    template={"Name": "Rev", "Front": "{{Front}}x", "Back": ""}) is None
    d.result("modelTemplateRename", modelName="Basic", oldTemplateName="Rev",
             newTemplateName="Reverse")
    assert d.error("modelTemplateRename", modelName="Basic", oldTemplateName="Nope",
                   newTemplateName="x") == "template was not found in Basic: Nope"
    d.result("modelTemplateReposition", modelName="Basic", templateName="Reverse", index=0)
    assert list(d.result("modelTemplates", modelName="Basic")) == ["Reverse", "Card 1"]
    info = {c["ord"]: c for c in d.result("cardsInfo", cards=cards)}
    assert info[0]["question"].endswith("back") and info[1]["question"].endswith("front")
    d.result("modelTemplateRemove", modelName="Basic", templateName="Reverse")
    left = d.result("notesInfo", notes=[n])[0]["cards"]
    assert len(left) == 1
    assert d.result("cardsInfo", cards=left)[0]["question"].endswith("front")
    assert d.error("modelTemplateRemove", modelName="Basic", templateName="Card 1") == \
        "must have 1 template"


def test_removing_a_template_deletes_notes_left_without_cards(d):
    d.result("createModel", modelName="Two", inOrderFields=["A", "B"],
             cardTemplates=[{"Name": "T1", "Front": "{{B}}", "Back": ""},
                            {"Name": "T2", "Front": "{{A}}", "Back": ""}])
    only_t2 = d.result("addNote", note={"deckName": "Default", "modelName": "Two",
                                        "fields": {"A": "a", "B": ""}})
    both = d.result("addNote", note={"deckName": "Default", "modelName": "Two",
                                     "fields": {"A": "a2", "B": "b"}})
    assert len(d.result("notesInfo", notes=[only_t2])[0]["cards"]) == 1
    assert len(d.result("notesInfo", notes=[both])[0]["cards"]) == 2
    d.result("modelTemplateRemove", modelName="Two", templateName="T2")
    info = d.result("notesInfo", notes=[only_t2, both])
    assert info[0] == {} and len(info[1]["cards"]) == 1
    db = open_db(d.col)
    assert db.execute("select count() from graves where oid = ? and type = 1",
                      (only_t2,)).fetchone()[0] == 1
    db.close()


def test_fields(d):
    n = d.result("addNote", note=basic_note("F", "B"))
    other = d.result("addNote", note={"deckName": "Default", "modelName": "Cloze",
                                      "fields": {"Text": "{{c1::x}}"}})
    scm = schema_time(d)
    d.result("modelFieldAdd", modelName="Basic", fieldName="Extra")
    assert scm < schema_time(d)
    d.result("modelFieldAdd", modelName="Basic", fieldName="First", index=0)
    assert d.result("modelFieldNames", modelName="Basic") == ["First", "Front", "Back", "Extra"]
    f = d.result("notesInfo", notes=[n])[0]["fields"]
    assert {k: v["value"] for k, v in f.items()} == {"First": "", "Front": "F", "Back": "B",
                                                     "Extra": ""}
    assert f["Front"]["order"] == 1
    d.result("modelFieldAdd", modelName="Basic", fieldName="Extra", index=1)  # exists: moved
    assert d.result("modelFieldNames", modelName="Basic") == ["First", "Extra", "Front", "Back"]
    d.result("modelFieldReposition", modelName="Basic", fieldName="Back", index=0)
    assert d.result("modelFieldNames", modelName="Basic") == ["Back", "First", "Extra", "Front"]
    f = d.result("notesInfo", notes=[n])[0]["fields"]
    assert f["Back"] == {"value": "B", "order": 0} and f["Front"] == {"value": "F", "order": 3}
    # renaming rewrites the templates
    d.result("modelFieldRename", modelName="Basic", oldFieldName="Front", newFieldName="Q")
    t = d.result("modelTemplates", modelName="Basic")["Card 1"]
    assert t["Front"] == "{{Q}}"
    assert d.error("modelFieldRename", modelName="Basic", oldFieldName="Nope",
                   newFieldName="x") == "field was not found in Basic: Nope"
    # removing drops the contents and the references
    d.result("modelFieldRemove", modelName="Basic", fieldName="Back")
    assert d.result("modelFieldNames", modelName="Basic") == ["First", "Extra", "Q"]
    t = d.result("modelTemplates", modelName="Basic")["Card 1"]
    assert "{{Back}}" not in t["Back"]
    f = d.result("notesInfo", notes=[n])[0]["fields"]
    assert {k: v["value"] for k, v in f.items()} == {"First": "", "Extra": "", "Q": "F"}
    # removing the only field the front uses is refused
    e = d.error("modelFieldRemove", modelName="Basic", fieldName="Q")
    assert "Expected to find a field replacement" in e
    assert d.result("modelFieldNames", modelName="Basic") == ["First", "Extra", "Q"]
    d.result("modelFieldSetFont", modelName="Basic", fieldName="Q", font="Noto Sans")
    d.result("modelFieldSetFontSize", modelName="Basic", fieldName="Q", fontSize=30)
    assert d.result("modelFieldFonts", modelName="Basic")["Q"] == {"font": "Noto Sans", "size": 30}
    assert d.error("modelFieldSetFont", modelName="Basic", fieldName="Q", font=5) == \
        "font should be a string: 5"
    assert d.error("modelFieldSetFontSize", modelName="Basic", fieldName="Q", fontSize="5") == \
        "fontSize should be an integer: 5"
    assert d.result("modelFieldSetDescription", modelName="Basic", fieldName="Q",
                    description="the question") is True
    assert d.result("modelFieldDescriptions", modelName="Basic") == ["", "", "the question"]
    assert d.error("modelFieldSetDescription", modelName="Basic", fieldName="Q",
                   description=None) == "description should be a string: None"
    assert d.result("notesInfo", notes=[other])[0]["fields"]["Text"]["value"] == "{{c1::x}}"
