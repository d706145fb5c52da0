"""Dismissing and restoring a suggestion over HTTP: admin only (every project), unknown ids 404, the feed
without it until restored."""

from __future__ import annotations

from server.conftest import Running


def _flaky(served: Running) -> None:
    for i in range(20):  # 6 of 20 calls fail after using input
        served.warden.record(
            id=f"flaky-{i}",
            provider="openai",
            model="gpt-4o",
            agent="flaky",
            input_tokens=2_000,
            output_tokens=1_500 if i % 10 >= 3 else 0,
            status="error" if i % 10 < 3 else "ok",
        )


def test_dismiss_and_restore(served: Running) -> None:
    _flaky(served)
    admin = served.client(served.key("admin"))
    shown = admin.get("/api/v1/insights").json()["insights"]
    assert shown
    first = shown[0]["id"]
    for role, projects in (("reader", ()), ("writer", ()), ("admin", ("web",))):
        other = served.client(served.key(role, *projects))
        assert other.post(f"/api/v1/insights/{first}/dismiss").status_code == 403, role
    answer = admin.post(f"/api/v1/insights/{first}/dismiss")
    assert answer.status_code == 200 and answer.json() == {"id": first, "dismissed": True, "changed": True}
    assert admin.post(f"/api/v1/insights/{first}/dismiss").json()["changed"] is False
    after = admin.get("/api/v1/insights").json()
    assert first not in {i["id"] for i in after["insights"]} and after["dismissed"] == 1
    assert admin.post(f"/api/v1/insights/{first}/restore").json() == {
        "id": first,
        "dismissed": False,
        "changed": True,
    }
    assert first in {i["id"] for i in admin.get("/api/v1/insights").json()["insights"]}
    missing = admin.post("/api/v1/insights/nothing-here/dismiss")
    assert missing.status_code == 404 and missing.json()["error"]["parameter"] == "insight_id"
