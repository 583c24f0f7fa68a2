"""Strategic merge patch and its directives, against the official schema's merge keys (no server needed)."""

from __future__ import annotations

from democluster import schema as schemas
from democluster.patch import merge_patch, strategic_merge_patch

DEPLOYMENT = schemas.root_schema("apps", "v1", "Deployment")
POD = schemas.root_schema("", "v1", "Pod")


def _deployment() -> dict:
    return {
        "metadata": {"name": "web", "finalizers": ["a", "b"]},
        "spec": {
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}], "args": ["x", "y"]},
                        {"name": "side", "image": "side:1"},
                    ]
                }
            },
        },
    }


def test_it_merges_containers_by_name() -> None:
    patched = strategic_merge_patch(
        _deployment(),
        {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "side:2"}]}}}},
        DEPLOYMENT,
    )
    containers = patched["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("app", "app:1"), ("side", "side:2")]


def test_it_replaces_atomic_lists_and_merges_env_by_name() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "args": ["z"], "env": [{"name": "B"}]}]}}}}
    app = strategic_merge_patch(_deployment(), patch, DEPLOYMENT)["spec"]["template"]["spec"]["containers"][0]
    assert app["args"] == ["z"]
    assert [e["name"] for e in app["env"]] == ["A", "B"]


def test_it_deletes_an_element_with_the_patch_directive() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}}}
    containers = strategic_merge_patch(_deployment(), patch, DEPLOYMENT)["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["app"]


def test_it_replaces_a_list_with_the_patch_directive() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "o:1"}, {"$patch": "replace"}]}}}}
    containers = strategic_merge_patch(_deployment(), patch, DEPLOYMENT)["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "only", "image": "o:1"}]


def test_it_orders_elements_by_set_element_order() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
                    "containers": [{"name": "app", "image": "app:2"}],
                }
            }
        }
    }
    patched = strategic_merge_patch(_deployment(), patch, DEPLOYMENT)
    spec = patched["spec"]["template"]["spec"]
    assert [(c["name"], c["image"]) for c in spec["containers"]] == [("side", "side:1"), ("app", "app:2")]
    assert not any(key.startswith("$") for key in spec)


def test_it_drops_unlisted_keys_with_retain_keys() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert strategic_merge_patch(_deployment(), patch, DEPLOYMENT)["spec"]["strategy"] == {"type": "Recreate"}


def test_it_deletes_from_a_primitive_list_and_unions_merged_ones() -> None:
    patched = strategic_merge_patch(
        _deployment(), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]}}, DEPLOYMENT
    )
    assert patched["metadata"]["finalizers"] == ["b", "c"]


def test_null_deletes_a_field_and_the_original_is_untouched() -> None:
    original = _deployment()
    patched = strategic_merge_patch(original, {"spec": {"strategy": None}}, DEPLOYMENT)
    assert "strategy" not in patched["spec"]
    assert original == _deployment()


def test_a_merge_patch_replaces_lists() -> None:
    patched = merge_patch(_deployment(), {"spec": {"template": {"spec": {"containers": [{"name": "x"}]}}}})
    assert patched["spec"]["template"]["spec"]["containers"] == [{"name": "x"}]


def test_pod_volumes_merge_by_name() -> None:
    pod = {"spec": {"volumes": [{"name": "a", "emptyDir": {}}, {"name": "b", "emptyDir": {}}]}}
    patched = strategic_merge_patch(pod, {"spec": {"volumes": [{"name": "b", "configMap": {"name": "cm"}}]}}, POD)
    assert patched["spec"]["volumes"][1] == {"name": "b", "emptyDir": {}, "configMap": {"name": "cm"}}
