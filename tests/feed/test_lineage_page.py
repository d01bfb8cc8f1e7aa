"""The lineage tree page (server-rendered): ancestors chain with hidden ones, branches folded."""
import re

import pytest

from feed.services import video_update

pytestmark = pytest.mark.django_db


def _nodes(html: str, part: str) -> list[str]:
    return re.findall(r'data-node="([^"]+)"', part if part else html)


def test_tree_page_folds_big_branches_and_hides_private_ancestors(alice, bob, make_video, client):
    root = make_video(bob, publish="public", prompt="bob's private root")
    mid = make_video(alice, publish="public", prompt="mid", parent=root)
    kids = [make_video(alice, publish="public", prompt=f"kid {i}", parent=mid) for i in range(7)]
    gk = make_video(bob, publish="public", prompt="grandkid", parent=kids[0])
    video_update(video=root, user=bob, visibility="private")
    client.force_login(alice)
    html = client.get(f"/v/{mid.pk}/lineage").content.decode()
    ancestors = html.split('class="lt-ancestors"')[1].split("</ol>")[0]
    assert _nodes(html, ancestors) == ["hidden"] and "Hidden video" in ancestors
    assert "bob&#x27;s private root" not in html and "private root" not in html
    tree = html.split('class="lt-tree"')[1]
    assert _nodes(html, tree)[0] == str(mid.pk)
    shown, folded = tree.split("<details>")[0], tree.split("<details>")[1]
    assert _nodes(html, shown) == [str(mid.pk), str(kids[0].pk), str(gk.pk), str(kids[1].pk), str(kids[2].pk)]
    assert "+4 more remixes" in folded and _nodes(html, folded)[:4] == [str(k.pk) for k in kids[3:]]
    assert "8 descendants in all" in html and "7 remixes" in html


def test_a_long_chain_folds_its_middle_ancestors(alice, make_video, client):
    chain = [make_video(alice, publish="public", prompt="root")]
    for i in range(9):
        chain.append(make_video(alice, publish="public", prompt=f"r{i}", parent=chain[-1]))
    html = client.get(f"/v/{chain[-1].pk}/lineage").content.decode()
    ancestors = html.split('class="lt-ancestors"', 1)[1].split('class="lt-tree"')[0]
    assert _nodes(html, ancestors) == [str(v.pk) for v in chain[:-1]]
    assert "4 more in between" in ancestors


def test_tree_page_of_an_unseen_video_is_a_404(alice, bob, make_video, client):
    v = make_video(bob, publish="private")
    client.force_login(alice)
    assert client.get(f"/v/{v.pk}/lineage").status_code == 404


def test_video_page_shows_attribution_and_the_remix_switch(alice, bob, make_video, client):
    root = make_video(alice, publish="public", prompt="root")
    remix = make_video(bob, publish="public", prompt="remix", parent=root)
    client.force_login(bob)
    page = client.get(f"/v/{remix.pk}").content.decode()
    assert "of" in page and f'href="/v/{root.pk}">@alice' in page and 'id="remix-button"' in page
    video_update(video=root, user=alice, allow_remix=False)
    page = client.get(f"/v/{root.pk}").content.decode()
    assert 'id="remix-button"' not in page and "@alice turned remixes off" in page
    assert 'id="allow-remix"' not in page  # only the owner gets the switch
    client.force_login(alice)
    page = client.get(f"/v/{root.pk}").content.decode()
    assert 'id="allow-remix"' in page and 'id="remix-button"' in page


def test_video_page_lists_the_visible_ancestors_in_few_queries(alice, bob, make_video, client,
                                                               django_assert_max_num_queries):
    videos = [make_video(alice, publish="public", prompt="root")]
    for i in range(30):
        videos.append(make_video(bob if i % 2 else alice, publish="public", prompt=f"r{i}", parent=videos[-1]))
    client.force_login(bob)
    with django_assert_max_num_queries(20):  # the same at depth 30 as at depth 2
        page = client.get(f"/v/{videos[-1].pk}").content.decode()
    attribution = page.split('id="attribution"')[1].split("</p>")[0]
    linked = [int(x) for x in __import__("re").findall(r'href="/v/(\d+)"', attribution)]
    assert linked == [v.pk for v in videos[-2:-12:-1]]  # parent first, then 9 more (10 in all)
    hidden = next(i for i in range(len(videos) - 3, 0, -1) if videos[i].owner == alice)  # bob may not see it
    video_update(video=videos[hidden], user=alice, visibility="private")
    page = client.get(f"/v/{videos[-1].pk}").content.decode()
    attribution = page.split('id="attribution"')[1].split("</p>")[0]
    linked = [int(x) for x in __import__("re").findall(r'href="/v/(\d+)"', attribution)]
    assert linked == [v.pk for v in videos[len(videos) - 2:hidden:-1]] and videos[hidden].pk not in linked
