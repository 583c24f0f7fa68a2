"""Who is asking, and may they: token identities, impersonation, and RBAC over the stored Roles and bindings.

As kube-apiserver does it: the token's user (plus ``system:authenticated``) may act as another user and groups
when it is allowed the ``impersonate`` verb on them; then RBAC decides, ClusterRoleBindings first, then the
RoleBindings of the request's namespace. The bootstrap roles every authenticated user holds (self access reviews,
discovery) are built in. Aggregated ClusterRoles are not supported: a ClusterRole's own ``rules`` are its rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from democluster.errors import ApiError
from democluster.resources import BY_KEY

Obj = dict[str, Any]

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
RBAC_GROUP = "rbac.authorization.k8s.io"

# system:basic-user and system:discovery, bound to system:authenticated in every cluster.
_BOOTSTRAP: list[tuple[str, str, list[Obj]]] = [
    (
        "system:basic-user",
        "system:basic-user",
        [
            {
                "verbs": ["create"],
                "apiGroups": ["authorization.k8s.io"],
                "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
            },
            {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]},
        ],
    ),
    (
        "system:discovery",
        "system:discovery",
        [
            {
                "verbs": ["get"],
                "nonResourceURLs": [
                    "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
                    "/readyz", "/version", "/version/",
                ],
            }
        ],
    ),
    (
        "system:public-info-viewer",
        "system:public-info-viewer",
        [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]}],
    ),
]  # fmt: skip


@dataclass(frozen=True)
class Identity:
    """A user as the authorizer sees it. ``resources`` is the old ``--token T:res1,res2`` grant (every verb on
    those resources, besides RBAC); ``impersonator`` is who sent the request when it was impersonated."""

    user: str
    groups: tuple[str, ...] = ()
    resources: frozenset[str] | None = frozenset()
    impersonator: Identity | None = None

    @property
    def is_admin(self) -> bool:
        return MASTERS in self.groups

    def describe(self) -> str:
        text = f"{self.user} (groups: {', '.join(self.groups) or 'none'})"
        return f"{text} impersonated by {self.impersonator.user}" if self.impersonator else text


@dataclass(frozen=True)
class Attributes:
    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def combined(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


@dataclass
class Decision:
    allowed: bool
    reason: str = ""
    errors: list[str] = field(default_factory=list)


def token_identity(user: str, groups: tuple[str, ...], resources: frozenset[str] | None) -> Identity:
    every = (*groups, AUTHENTICATED) if AUTHENTICATED not in groups else groups
    return Identity(user, every, resources)


# --- reading RBAC objects from the store -----------------------------------------------------------------------


def _objects(store: Any, plural: str, namespace: str | None = None) -> Iterator[Obj]:
    res = BY_KEY[f"{RBAC_GROUP}/{plural}"]
    for (ns, _), obj in sorted(store.objects[res.key].items()):
        if namespace is None or ns == namespace:
            yield obj


def _role_rules(store: Any, kind: str, name: str, namespace: str) -> list[Obj]:
    """The rules a roleRef points at; KeyError (with the apiserver's words) when it does not exist."""
    if kind == "ClusterRole":
        for builtin, _, rules in _BOOTSTRAP:
            if builtin == name:
                return rules
        res, key = BY_KEY[f"{RBAC_GROUP}/clusterroles"], ("", name)
        missing = f'clusterrole.rbac.authorization.k8s.io "{name}" not found'
    else:
        res, key = BY_KEY[f"{RBAC_GROUP}/roles"], (namespace, name)
        missing = f'role.rbac.authorization.k8s.io "{name}" not found'
    obj = store.objects[res.key].get(key)
    if obj is None:
        raise KeyError(missing)
    return list(obj.get("rules") or [])


def _subject_matches(subject: Obj, identity: Identity, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == identity.user
    if kind == "Group":
        return name in identity.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return identity.user == f"system:serviceaccount:{namespace}:{name}"
    return False


def _describe_subject(subject: Obj, binding_namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{subject.get("name")}/{subject.get("namespace") or binding_namespace}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


def _visit(store: Any, identity: Identity, namespace: str) -> Iterator[tuple[str, Obj | None, str | None]]:
    """(where a rule comes from, the rule, or an error) for every rule the identity holds in ``namespace``:
    the built-in and stored ClusterRoleBindings first, then the namespace's RoleBindings, as RBAC visits them."""
    for name, role, rules in _BOOTSTRAP:
        if AUTHENTICATED in identity.groups:
            source = f'ClusterRoleBinding "{name}" of ClusterRole "{role}" to Group "{AUTHENTICATED}"'
            for rule in rules:
                yield source, rule, None
    bindings = [(b, "") for b in _objects(store, "clusterrolebindings")]
    if namespace:
        bindings += [(b, namespace) for b in _objects(store, "rolebindings", namespace)]
    for binding, binding_namespace in bindings:
        subject = next(
            (s for s in binding.get("subjects") or [] if _subject_matches(s, identity, binding_namespace)), None
        )
        if subject is None:
            continue
        ref = binding.get("roleRef") or {}
        try:
            rules = _role_rules(store, ref.get("kind", ""), ref.get("name", ""), binding_namespace)
        except KeyError as exc:
            yield "", None, exc.args[0]
            continue
        name = binding["metadata"]["name"]
        what = "ClusterRoleBinding" if not binding_namespace else "RoleBinding"
        shown = f"{name}/{binding_namespace}" if binding_namespace else name
        source = (
            f'{what} "{shown}" of {ref.get("kind")} "{ref.get("name")}" to '
            f"{_describe_subject(subject, binding_namespace)}"
        )
        for rule in rules:
            yield source, rule, None


# --- matching ----------------------------------------------------------------------------------------------------


def _resource_matches(rule: Obj, attrs: Attributes) -> bool:
    for resource in rule.get("resources") or []:
        if resource in ("*", attrs.combined):
            return True
        if attrs.subresource and resource == f"*/{attrs.subresource}":
            return True
    return False


def rule_allows(rule: Obj, attrs: Attributes) -> bool:
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attrs.group not in groups:
        return False
    if not _resource_matches(rule, attrs):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def authorize(store: Any, identity: Identity, attrs: Attributes) -> Decision:
    if identity.is_admin:
        return Decision(True)
    if identity.resources is None or (identity.resources and _legacy_allows(identity.resources, attrs)):
        return Decision(True)
    errors: list[str] = []
    for source, rule, error in _visit(store, identity, attrs.namespace):
        if error is not None:
            errors.append(error)
        elif rule is not None and rule_allows(rule, attrs):
            return Decision(True, f"RBAC: allowed by {source}")
    return Decision(False, _aggregate(errors), errors)


def _legacy_allows(resources: frozenset[str], attrs: Attributes) -> bool:
    # As in RBAC, reading a Pod's log is its own resource: "pods" alone does not grant "pods/log".
    return (attrs.combined if attrs.subresource == "log" else attrs.resource) in resources


def _aggregate(errors: list[str]) -> str:
    if not errors:
        return ""
    return "RBAC: " + (errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")


def _qualified(group: str, resource: str) -> str:
    return f"{resource}.{group}" if group else resource


def forbidden(identity: Identity, attrs: Attributes, reason: str = "") -> ApiError:
    """The 403 kube-apiserver sends: ``deployments.apps "web" is forbidden: User "alice" cannot patch ...``."""
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    target = _qualified(attrs.group, attrs.resource) + (f' "{attrs.name}"' if attrs.name else "")
    message = (
        f'{target} is forbidden: User "{identity.user}" cannot {attrs.verb} resource "{attrs.combined}" '
        f'in API group "{attrs.group}" {scope}'
    )
    if reason:
        message += f": {reason}"
    details: Obj = {"kind": attrs.resource}
    if attrs.name:
        details["name"] = attrs.name
    if attrs.group:
        details["group"] = attrs.group
    return ApiError(403, "Forbidden", message, details)


def check(store: Any, identity: Identity, attrs: Attributes) -> None:
    decision = authorize(store, identity, attrs)
    if not decision.allowed:
        raise forbidden(identity, attrs, decision.reason)


# --- impersonation -----------------------------------------------------------------------------------------------


def impersonate(store: Any, identity: Identity, headers: Any) -> Identity:
    """The identity a request acts as, given its ``Impersonate-*`` headers (``headers.getall``)."""
    user = headers.get("Impersonate-User", "")
    groups = list(headers.getall("Impersonate-Group", []))
    extras = [k for k in headers if k.lower().startswith("impersonate-extra-")]
    uid = headers.get("Impersonate-Uid", "")
    if not user:
        if groups or extras or uid:
            requested = [f"Kind=Group Name={g}" for g in groups]
            raise ApiError(500, "InternalError", f"Internal error occurred: requested {requested} without "
                           "impersonating a user")  # fmt: skip
        return identity
    service_account = user.split(":") if user.startswith("system:serviceaccount:") else None
    if service_account is not None and len(service_account) == 4:
        attrs = Attributes("impersonate", "", "serviceaccounts", namespace=service_account[2], name=service_account[3])
        if not groups:
            groups = ["system:serviceaccounts", f"system:serviceaccounts:{service_account[2]}"]
    else:
        attrs = Attributes("impersonate", "", "users", name=user)
    wanted = [attrs] + [Attributes("impersonate", "", "groups", name=group) for group in groups]
    for one in wanted:
        decision = authorize(store, identity, one)
        if not decision.allowed:
            raise forbidden(identity, one, decision.reason)
    if user != "system:anonymous" and AUTHENTICATED not in groups and UNAUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return Identity(user, tuple(groups), frozenset(), identity)


# --- self reviews ------------------------------------------------------------------------------------------------


def rules_review(store: Any, identity: Identity, namespace: str) -> Obj:
    """SelfSubjectRulesReview status: every rule the identity holds in ``namespace``."""
    resource_rules: list[Obj] = []
    non_resource_rules: list[Obj] = []
    errors: list[str] = []
    if identity.is_admin or identity.resources is None:
        resource_rules.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
        non_resource_rules.append({"verbs": ["*"], "nonResourceURLs": ["*"]})
    for _, rule, error in _visit(store, identity, namespace):
        if error is not None:
            errors.append(error)
        elif rule is not None and rule.get("nonResourceURLs"):
            non_resource_rules.append(
                {"verbs": list(rule.get("verbs") or []), "nonResourceURLs": rule["nonResourceURLs"]}
            )
        elif rule is not None:
            entry: Obj = {"verbs": list(rule.get("verbs") or []), "apiGroups": list(rule.get("apiGroups") or [])}
            for key in ("resources", "resourceNames"):
                if rule.get(key):
                    entry[key] = list(rule[key])
            resource_rules.append(entry)
    status: Obj = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}
    if errors:
        status["incomplete"] = True
        status["evaluationError"] = ", ".join(errors)
    return status
