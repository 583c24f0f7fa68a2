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
    uid: str = ""

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
    path: str = ""  # a request for a path that is no resource (discovery, /version)

    @property
    def combined(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


@dataclass
class Decision:
    allowed: bool
    reason: str = ""
    errors: list[str] = field(default_factory=list)


def token_identity(user: str, groups: tuple[str, ...], resources: frozenset[str] | None, uid: str = "") -> Identity:
    every = (*groups, AUTHENTICATED) if AUTHENTICATED not in groups else groups
    return Identity(user, every, resources, uid=uid)


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
    if attrs.path:
        urls = rule.get("nonResourceURLs") or []
        return any(u == attrs.path or (u.endswith("*") and attrs.path.startswith(u[:-1])) for u in urls)
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
    if attrs.path:
        message = f'forbidden: User "{identity.user}" cannot {attrs.verb} path "{attrs.path}"'
        return ApiError(403, "Forbidden", message + (f": {reason}" if reason else ""), {})
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

# Impersonation modes in the order kube-apiserver 1.36 tries them (ConstrainedImpersonation is on): the
# constrained ones need ``impersonate-on:<mode>:<verb>`` on the request itself, then ``impersonate:<mode>`` on the
# user and groups in authentication.k8s.io; legacy needs ``impersonate`` on them in the core group. The first
# mode's refusal is the answer unless a later mode succeeds; the mode that last succeeded for a requestor is tried
# first next time (so which refusal one sees depends on what that requestor did before, as on a real server).
# The node modes are not simulated.
_MODES = ("serviceaccount", "user-info", "legacy")


def _service_account(username: str) -> tuple[str, str] | None:
    parts = username.split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] and parts[2] and parts[3]:
        return parts[2], parts[3]
    return None


def _applies(mode: str, user: str, groups: list[str], extras: bool, uid: str) -> bool:
    if mode == "serviceaccount":
        return _service_account(user) is not None and not groups and not extras and not uid
    if mode == "user-info":
        return _service_account(user) is None and not user.startswith("system:node:")
    return True


def _on_attributes(mode: str, request: Attributes) -> Attributes:
    return Attributes(
        f"impersonate-on:{mode}:{request.verb}", request.group, request.resource, request.subresource,
        request.namespace, request.name, request.path,
    )  # fmt: skip


def _try_mode(
    store: Any, requestor: Identity, mode: str, user: str, groups: list[str], request: Attributes
) -> tuple[str, ...]:
    """The impersonated user's groups when ``mode`` allows it; ApiError (403) when it refuses."""
    if mode != "legacy":
        check(store, requestor, _on_attributes(mode, request))
    verb, group = ("impersonate", "") if mode == "legacy" else (f"impersonate:{mode}", "authentication.k8s.io")
    actual = list(groups)
    service_account = _service_account(user)
    if service_account is not None:
        check(
            store,
            requestor,
            Attributes(verb, group, "serviceaccounts", namespace=service_account[0], name=service_account[1]),
        )
        if not groups:
            actual = ["system:serviceaccounts", f"system:serviceaccounts:{service_account[0]}"]
    else:
        check(store, requestor, Attributes(verb, group, "users", name=user))
    if mode != "legacy" and MASTERS in groups:
        attrs = Attributes(verb, group, "groups", name=MASTERS)
        raise forbidden(requestor, attrs, "impersonating the system:masters group is not allowed")
    for wanted in groups:
        check(store, requestor, Attributes(verb, group, "groups", name=wanted))
    if user == "system:anonymous":
        actual += [UNAUTHENTICATED] if UNAUTHENTICATED not in actual else []
    elif UNAUTHENTICATED not in actual and AUTHENTICATED not in actual:
        actual.append(AUTHENTICATED)
    return tuple(actual)


def impersonate(
    store: Any, identity: Identity, headers: Any, request: Attributes, last_mode: dict[str, str]
) -> Identity:
    """The identity a request acts as, given its ``Impersonate-*`` headers (``headers.getall``)."""
    user = headers.get("Impersonate-User", "")
    groups = list(headers.getall("Impersonate-Group", []))
    extras = any(k.lower().startswith("impersonate-extra-") for k in headers)
    uid = headers.get("Impersonate-Uid", "")
    if not user:
        if groups or extras or uid:
            shown = "[]string{" + ", ".join(f'"{g}"' for g in groups) + "}" if groups else "[]string(nil)"
            raise ApiError(
                400,
                "BadRequest",
                f'requested &user.DefaultInfo{{Name:"", UID:"{uid}", Groups:{shown}, '
                "Extra:map[string][]string(nil)} without impersonating a user name",
            )
        return identity
    first = last_mode.get(identity.user)
    order = [first] + [m for m in _MODES if m != first] if first else list(_MODES)
    refusal: ApiError | None = None
    for mode in order:
        if not _applies(mode, user, groups, extras, uid):
            continue
        try:
            actual = _try_mode(store, identity, mode, user, groups, request)
        except ApiError as exc:
            refusal = refusal or exc
            continue
        last_mode[identity.user] = mode
        return Identity(user, actual, frozenset(), identity)
    assert refusal is not None
    raise refusal


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
    if errors:  # a binding to a missing role: said, but the answer is not marked incomplete
        status["evaluationError"] = ", ".join(errors)
    return status
