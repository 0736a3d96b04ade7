"""The partner guide (docs/integration.md) against the code: generated tables, error codes, both languages."""

import ast
import re
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework import exceptions, serializers

from intake import error_codes, guide
from intake.serializers import ProtocolField, PushSerializer
from orders import normalizers

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "integration.md"
# Where the doors build the errors they answer.
ERROR_SOURCES = [
    *sorted((ROOT / "intake" / "doors").glob("*.py")),
    *(ROOT / "intake" / name for name in ("payload.py", "serializers.py", "services.py", "authentication.py")),
    *(ROOT / "intake" / name for name in ("throttling.py",)),
    *(ROOT / "config" / name for name in ("errors.py", "bearer.py")),
    ROOT / "orders" / "normalizers.py",
]
# Codes the sources name that no door answers, and why.
NEVER_ANSWERED = {"permission_denied": "IsActiveInstitution answers institution_disabled instead"}
# Codes DRF answers by itself: a missing key, and a method other than POST on the REST view.
DRF_OWN = {"required", "null", "method_not_allowed"}


def guide_text() -> str:
    return GUIDE.read_text("utf-8")


def halves() -> tuple[str, str]:
    text = guide_text()
    chinese = text.split("<!-- language:zh-hans -->")[1].split("<!-- language:en -->")[0]
    english = text.split("<!-- language:en -->")[1].split("<!-- appendix -->")[0]
    return chinese, english


# --- Generated parts -------------------------------------------------------------------------


def test_the_guide_is_what_the_code_generates():
    # given the guide as committed
    text = guide_text()
    # when its generated blocks are rendered afresh from the code
    regenerated = guide.fill(text)
    # then nothing differs (else: python manage.py write_partner_docs)
    assert regenerated == text


def test_the_guide_has_every_generated_block_chinese_first():
    assert guide.blocks(guide_text()) == [
        (part, language) for language in ("zh-hans", "en") for part in ("fields", "errors", "limits")
    ]


def test_the_check_command_fails_on_a_stale_guide(settings, tmp_path):
    # given a copy of the repository's guide with a field table edited by hand
    (tmp_path / "docs").mkdir()
    stale = guide_text().replace("| `deviceId` | yes |", "| `deviceId` | no |")
    (tmp_path / "docs" / "integration.md").write_text(stale, "utf-8")
    settings.BASE_DIR = tmp_path
    # when / then
    with pytest.raises(CommandError, match="out of date"):
        call_command("write_partner_docs", "--check")
    call_command("write_partner_docs")
    call_command("write_partner_docs", "--check")


def test_the_field_tables_name_what_the_partner_found_by_trial_and_error():
    # given the English field tables
    text = guide_text().split("<!-- generated:fields:en begin")[1]
    # then the keys that must be present but may be "", and the maximum lengths, are printed
    for row in ["| `memory` | yes | yes |", "| `bettary` | yes | yes |", "| `appMarket` | yes | yes |"]:
        assert row in text
    for key, max_length in [
        ("orderNo", 64),
        ("deviceId", 128),
        ("name", 64),
        ("gpsAddress", 512),
        ("phoneList[i].name", 128),
        ("phoneList[i].phone", 64),
    ]:
        assert re.search(rf"\| `{re.escape(key)}` \|[^\n]*\| {max_length} \|\n", text), key
    assert "province,city,district" in text
    assert "0 to 100" in text


def protocol_fields():
    def visit(serializer, path):
        for name, field in serializer.fields.items():
            if isinstance(field, serializers.Serializer):
                yield from visit(field, f"{path}{name}.")
            elif isinstance(field, ProtocolField):
                yield f"{path}{name}", field

    return list(visit(PushSerializer(), ""))


@pytest.mark.parametrize(
    ("path", "field"), [(path, field) for path, field in protocol_fields() if field.value_format.max_length]
)
def test_every_documented_maximum_length_is_the_one_enforced(path, field):
    # given the maximum length the guide prints for the field
    max_length = field.value_format.max_length
    # when values of that length and one more are validated
    field.run_validation("7" * max_length)
    with pytest.raises(serializers.ValidationError) as refused:
        field.run_validation("7" * (max_length + 1))
    # then the longer one is refused for its length
    assert refused.value.get_codes() == ["max_length"], path


@pytest.mark.parametrize(("key", "max_length"), [("name", 128), ("phone", 64)])
def test_documented_address_book_lengths_are_the_ones_enforced(key, max_length):
    entry = {"name": "张三", "phone": "13800138000"}
    normalizers.address_book_entry(entry | {key: "7" * max_length})
    with pytest.raises(normalizers.NormalizationError) as refused:
        normalizers.address_book_entry(entry | {key: "7" * (max_length + 1)})
    assert refused.value.code == "max_length"


# --- Error codes -----------------------------------------------------------------------------


def _call_name(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")


def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def codes_built_in(source: str) -> set[str]:
    """Every error code a module builds: error items, `code=`, default codes, DRF exceptions it raises."""
    codes: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name == "error_item" and node.args:
                codes.add(_literal(node.args[0]))
            elif name == "error_body" and len(node.args) > 1:
                codes.add(_literal(node.args[1]))
            elif name == "fail" and node.args:
                codes.add(_literal(node.args[0]))
            elif name == "NormalizationError" and len(node.args) < 2 and not node.keywords:
                codes.add("invalid")
            codes.update(_literal(keyword.value) for keyword in node.keywords if keyword.arg == "code")
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            if target in ("default_code", "code"):
                codes.add(_literal(node.value))
            elif target == "default_error_messages" and isinstance(node.value, ast.Dict):
                codes.update(_literal(key) for key in node.value.keys)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "exceptions":
            raised = getattr(exceptions, node.attr, None)
            if isinstance(raised, type) and issubclass(raised, exceptions.APIException):
                codes.add(raised.default_code)
    return codes - {None}


def codes_the_doors_build() -> set[str]:
    return set().union(*(codes_built_in(path.read_text("utf-8")) for path in ERROR_SOURCES))


def test_the_scan_sees_how_codes_are_built():
    source = """
error_item("one", "x")
raise NormalizationError("bad")
raise NormalizationError("long", code="two")
class A:
    default_code = "three"
    default_error_messages = {"four": "..."}
raise exceptions.Throttled()
"""
    assert codes_built_in(source) == {"one", "invalid", "two", "three", "four", "throttled"}


def test_every_code_the_doors_build_is_in_the_guide():
    # given the codes the doors' source builds
    built = codes_the_doors_build() - set(NEVER_ANSWERED)
    # when compared with the documented ones
    documented = {entry.code for entry in error_codes.ERROR_CODES}
    # then none is missing, and none is documented that no door builds
    assert built - documented == set()
    assert documented - built - DRF_OWN - {"not_found"} == set()


@pytest.mark.parametrize(
    ("code", "attr", "door"),
    [
        ("not_an_object", "userAdditional.deviceInfo", "rest"),
        ("not_a_list", "userAdditional.addressBook.phoneList", "channel"),
        ("null", "orderInfo.userPhone", "rest"),
        ("invalid", "timeStamp", "channel"),
        ("blank", "sign", "channel"),
        ("method_not_allowed", None, "rest"),
        ("method_not_allowed", None, "channel"),
        ("stale_timestamp", "timeStamp", "channel"),
        ("database_unavailable", None, "channel"),
    ],
)
def test_the_codes_the_partner_met_are_documented(code, attr, door):
    # when
    entry = error_codes.documented(code, attr, door)
    # then
    assert entry is not None
    if code in ("invalid", "blank"):
        assert attr in entry.attrs  # its own row, not the payload's
    for language in ("zh-hans", "en"):
        assert f"| `{code}` |" in guide.render("errors", language)


def test_every_documented_code_is_in_both_languages():
    chinese, english = (guide.render("errors", language) for language in guide.LANGUAGES)
    rows = [line for line in english.splitlines() if line.startswith("| `")]
    assert len(rows) == len(error_codes.ERROR_CODES)
    assert re.findall(r"^\| `(\w+)`", chinese, re.M) == re.findall(r"^\| `(\w+)`", english, re.M)
    assert "两个入口" in chinese
    assert "Fix the field" not in chinese


# --- Both languages say the same things ---------------------------------------------------------


def tables(text: str) -> list[list[str]]:
    found, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current[2:])  # without the header and the separator
            current = []
    return found


def row_tokens(row: str) -> Counter:
    """What a row names: `code`-spans and HTTP statuses, whatever the language around them."""
    return Counter(re.findall(r"`([^`]+)`", row)) + Counter(re.findall(r"(?<![\w.])([1-5]\d\d)(?![\w.])", row))


def test_both_languages_have_the_same_tables_rows_and_codes():
    # given the Chinese and the English halves
    chinese, english = halves()
    # when their tables are read
    chinese_tables, english_tables = tables(chinese), tables(english)
    # then they have the same tables, rows, and codes in each row
    assert len(chinese_tables) == len(english_tables) > 10
    for zh_table, en_table in zip(chinese_tables, english_tables, strict=True):
        assert len(zh_table) == len(en_table), en_table[0]
        for zh_row, en_row in zip(zh_table, en_table, strict=True):
            assert row_tokens(zh_row) == row_tokens(en_row), (zh_row, en_row)


def test_both_languages_have_the_same_sections_and_code_blocks():
    chinese, english = halves()
    heading = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", re.M)
    assert heading.findall(chinese) == heading.findall(english)
    assert len(heading.findall(english)) >= 14
    block = re.compile(r"^```.*?^```", re.M | re.S)
    assert block.findall(chinese) == block.findall(english)


def test_the_comparison_notices_a_row_missing_in_one_language():
    chinese, english = halves()
    chinese = chinese.replace('| 405 | 不是 POST | `"code": "method_not_allowed"` |\n', "")
    assert [len(table) for table in tables(chinese)] != [len(table) for table in tables(english)]


def test_the_guide_cites_no_file_a_partner_cannot_see():
    text = guide_text()
    assert "tests/" not in text.replace("<!-- Blocks", "").split("-->", 1)[1]
    assert "contract.md" not in text
    assert re.findall(r"`((?:intake|orders|config|tests)/[^`]*)`", text.split("-->", 1)[1]) == []


@pytest.mark.parametrize(
    "needle",
    [
        "timeStamp` on every retry",
        '`"loan_amount": 500000` and\n`"loan_amount": "500000"`',
        "`Accept-Language`",
        "the body as sent, in bytes",
        "Retry-After",
        "TLS 1.2",
        "outbound IP addresses",
        "read timeout 60 s",
        "`<SUPPORT_CONTACT>`",
        "`https://<SANDBOX_HOST>`",
        "`https://<PRODUCTION_HOST>`",
        "overlap",
    ],
)
def test_the_english_half_covers_what_the_partner_missed(needle):
    _, english = halves()
    assert needle.replace("\n", " ") in english.replace("\n", " ")


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-CN", "zh-hans"])
def test_accept_language_changes_the_wording_not_the_codes(push, language):
    # given a push with several problems
    payload = {"orderInfo": {"orderNo": "", "loan_amount": "1.5", "userPhone": None}}
    # when it is sent in English and in Chinese
    english = push(payload, **{"Accept-Language": "en"}).json()["errors"]
    chinese = push(payload, **{"Accept-Language": language}).json()["errors"]
    # then the codes and paths are the same, the wording is not
    assert [(e["code"], e["attr"]) for e in chinese] == [(e["code"], e["attr"]) for e in english]
    assert [e["detail"] for e in chinese] != [e["detail"] for e in english]


SECTION_MODELS = {
    "orderInfo": "Order",
    "userAdditional.deviceInfo": "Device",
    "userAdditional.contactInfo": "Contact",
    "userAdditional.workOfficeInfo": "Employer",
}


@pytest.mark.parametrize(
    ("path", "field"), [(path, field) for path, field in protocol_fields() if field.value_format.max_length]
)
def test_every_documented_maximum_length_fits_its_column(path, field):
    # given the model and column that store the field
    from orders import models

    section = path.rsplit(".", 1)[0]
    model = getattr(models, SECTION_MODELS[section])
    column = model._meta.get_field(field.source.removesuffix("_spare"))
    # then the guide's maximum is the column's
    assert field.value_format.max_length == column.max_length, path
