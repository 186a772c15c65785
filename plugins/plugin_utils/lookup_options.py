# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option values of the collection's lookups, as the play means them.

An option that falls back to an inventory variable (tonsurance_vault_url, tonsurance_network, ...)
reaches a lookup as the variable's raw text, so `tonsurance_vault_url: "{{ vault_base }}:8200"` would
arrive with its braces. options() templates such values against the play's variables first.
"""


def options(lookup, names):
    """{name: value} of the lookup's options, each string that holds a template rendered."""
    templar = getattr(lookup, "_templar", None)  # None when the plugin is loaded outside a play
    values = {}
    for name in names:
        value = lookup.get_option(name)
        if templar is not None and isinstance(value, str) and templar.is_template(value):
            value = templar.template(value)
        values[name] = value
    return values
