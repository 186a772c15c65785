# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # What the attributes mean; each module states its own support level and details.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description:
      - Whether the module runs under C(--check) through its real code path, changing nothing and
        reporting what it would change.
  diff_mode:
    description:
      - Whether the module returns the state before and after the change (or the planned change)
        under C(--diff).
"""
