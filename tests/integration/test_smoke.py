def test_city_user_sees_chinese_home_with_its_org(client, login):
    response = login("c1")
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert "东城区" in html and "赵东城" in html
