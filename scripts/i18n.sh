#!/usr/bin/env bash
# Re-extract translatable strings into messages.pot and merge them into every catalogue.
# Catalogues stay sorted by msgid and unwrapped, so that parallel edits merge cleanly.
# Pages read the .po files directly (schutz.web.i18n compiles them in memory): no .mo step.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
LOCALE_DIR=src/schutz/locale

"$PYBABEL" extract -F babel.cfg --sort-output --no-location --no-wrap \
    --project Schutz --copyright-holder "Schutz contributors" \
    -o "$LOCALE_DIR/messages.pot" .
for lang in ${LANGUAGES:-de}; do
    if [[ ! -f "$LOCALE_DIR/$lang/LC_MESSAGES/messages.po" ]]; then
        "$PYBABEL" init -i "$LOCALE_DIR/messages.pot" -d "$LOCALE_DIR" -D messages -l "$lang" --no-wrap
    fi
done
"$PYBABEL" update -i "$LOCALE_DIR/messages.pot" -d "$LOCALE_DIR" -D messages \
    --no-wrap --no-fuzzy-matching --ignore-obsolete
echo "catalogues updated; untranslated entries:"
"${PYTHON:-.venv/bin/python}" - "$LOCALE_DIR" <<'PY'
import sys
from pathlib import Path

from babel.messages.pofile import read_po

missing = 0
for po in sorted(Path(sys.argv[1]).glob("*/LC_MESSAGES/messages.po")):
    with po.open("rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        if message.id and (not message.string or message.fuzzy):
            missing += 1
            print(f"  {po}: {message.id!r}")
print(f"  {missing} in all")
PY
