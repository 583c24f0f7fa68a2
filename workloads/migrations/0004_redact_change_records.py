"""Audit rows written before the audit trail was redacted: hide what they kept of secret-looking values.

New rows are redacted when they are written (``edits.apply.record``). The diffs of older rows are YAML text, so
they are redacted line by line: a ``value:`` under an env var ``- name:`` that looks secret, a string under a key that
looks secret, and the userinfo of URLs.
"""

import re

from django.db import migrations

from workloads import redaction

ENV_NAME = re.compile(r"^(?P<indent>\s*)- name: (?P<name>.*)$")
KEY_VALUE = re.compile(r"^(?P<indent>\s*)(?P<dash>- )?(?P<key>[^\s:#]+): (?P<value>\S.*)$")


def redact_diff(text: str) -> str:
    lines, env_name, env_indent = [], "", -1
    for line in text.splitlines(keepends=True):
        marker, body = line[:1], line[1:]
        if line.startswith(("--- ", "+++ ", "@@")):
            lines.append(line)
            continue
        if found := ENV_NAME.match(body.rstrip("\n")):
            env_name, env_indent = found["name"].strip("'\""), len(found["indent"]) + 2
        elif found := KEY_VALUE.match(body.rstrip("\n")):
            indent = len(found["indent"]) + (2 if found["dash"] else 0)
            key = found["key"].strip("'\"")
            env_secret = key == "value" and indent == env_indent and redaction.looks_secret(env_name)
            if env_secret or (redaction.looks_secret(key) and not redaction.REFERENCE_KEY.search(key)):
                body = body[: found.start("value")] + redaction.HIDDEN + "\n"
        lines.append(marker + redaction.mask_text(body))
    return "".join(lines)


def redact_records(apps, schema_editor):
    ChangeRecord = apps.get_model("workloads", "ChangeRecord")
    for record in ChangeRecord.objects.iterator():
        patch, diff = redaction.redact(record.patch), redact_diff(record.diff)
        message = redaction.mask_text(record.message)
        if (patch, diff, message) != (record.patch, record.diff, record.message):
            ChangeRecord.objects.filter(pk=record.pk).update(patch=patch, diff=diff, message=message)


class Migration(migrations.Migration):
    dependencies = [("workloads", "0003_query_indexes")]

    operations = [migrations.RunPython(redact_records, migrations.RunPython.noop)]
