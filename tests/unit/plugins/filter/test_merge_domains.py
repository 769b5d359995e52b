"""The merge_domains filter adapter: engine errors become AnsibleFilterError."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailsec.posture.plugins.filter.merge_domains import FilterModule


def test_filter_is_registered_and_merges():
    merge = FilterModule().filters()["merge_domains"]
    assert merge([{"name": "a.example", "x": 1}], [{"name": "a.example", "x": 2}]) == [{"name": "a.example", "x": 2}]


def test_filter_errors_name_the_entry():
    merge = FilterModule().filters()["merge_domains"]
    expected = r"mailsec.posture.merge_domains: domain 'a.example': overrides\[1\].name: a.example is already at overrides\[0\]"
    with pytest.raises(AnsibleFilterError, match=expected):
        merge([], [{"name": "a.example"}, {"name": "a.example"}])
