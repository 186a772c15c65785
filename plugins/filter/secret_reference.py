# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible.errors import AnsibleFilterError


def secret_reference(item):
    """A catalog entry (from dict2items) as a reference labelled with its logical name."""
    if not isinstance(item, dict) or "key" not in item or not isinstance(item.get("value"), dict):
        raise AnsibleFilterError("secret_reference expects an item of dict2items over a catalog of reference dicts")
    reference = dict(item["value"])
    reference.setdefault("label", item["key"])
    return reference


class FilterModule:
    def filters(self):
        return {"secret_reference": secret_reference}
