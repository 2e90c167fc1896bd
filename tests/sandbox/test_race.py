"""Concurrent creates of one name: the database constraint lets exactly one through."""

import threading

import requests

from sandbox.models import CustomMetric
from tests.sandbox.cases import body

CONTENDERS = 8


def test_concurrent_creates_of_one_name_give_one_200_and_the_rest_409(api):
    """Eight clients creating the same name at once: exactly one 200, seven 409, one row stored."""
    barrier = threading.Barrier(CONTENDERS)
    statuses: list[int] = []
    lock = threading.Lock()

    def create(index: int) -> None:
        with requests.Session() as http:
            barrier.wait(timeout=10)
            response = http.post(
                api.url(),
                json=body(
                    name="raced_metric", metric="crashes_total", group_by=["country"] if index % 2 else []
                ),
                headers=api.auth(),
                timeout=30,
            )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(CONTENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] + [409] * (CONTENDERS - 1)
    assert CustomMetric.objects.filter(app__app_id="appID1", name="raced_metric").count() == 1
    assert api.names().count("raced_metric") == 1
