#!/usr/bin/env python3
"""Drives headless Chromium (Debian's chromium + chromium-driver) through the console with
selenium: signs in, opens every page in English and Traditional Chinese, and fails on a browser
console error, an untranslated key (⟦key⟧) or a page without its heading. Saves a screenshot of
every page in OUT_DIR.

    Scripts/browser-check.py BASE_URL USER PASSWORD OUT_DIR
"""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

PAGES = ["/", "/inventory", "/findings", "/compliance", "/compliance/nerc-cip",
         "/compliance/tw-ics-protection-baseline?level=%E4%B8%AD", "/scans", "/audit",
         "/business-units", "/business-units/generation", "/applications/scada-historian",
         "/business-units/edit", "/exceptions", "/scans/diff?from=1&to=2", "/settings", "/costs",
         "/carbon", "/carbon?by=app&app=turbine-analytics&toRegion=eu-north-1", "/lake", "/security", "/hosts"]


def main(base, user, password, out):
    os.makedirs(out, exist_ok=True)
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    problems = []
    try:
        driver.get(base + "/login")
        driver.find_element(By.NAME, "name").send_keys(user)
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        # The click returns before the redirect has loaded: wait for it (a loaded machine is slow).
        try:
            WebDriverWait(driver, 30).until(lambda d: "/login" not in d.current_url)
        except Exception:
            problems.append("sign-in failed: still on " + driver.current_url)
        for lang in ("en", "zh-TW"):
            for page in PAGES:
                sep = "&" if "?" in page else "?"
                driver.get(f"{base}{page}{sep}lang={lang}")
                source = driver.page_source
                name = (page.strip("/").replace("/", "_").split("?")[0] or "overview") + f"-{lang}.png"
                driver.save_screenshot(os.path.join(out, name))
                if "⟦" in source:
                    problems.append(f"{page} ({lang}): untranslated key")
                if not driver.find_elements(By.TAG_NAME, "h1"):
                    problems.append(f"{page} ({lang}): no heading")
                if driver.find_element(By.TAG_NAME, "html").get_attribute("lang") != ("en" if lang == "en" else "zh-Hant-TW"):
                    problems.append(f"{page} ({lang}): wrong lang attribute")
                for entry in driver.get_log("browser"):
                    if entry.get("level") == "SEVERE":
                        problems.append(f"{page} ({lang}): console error: {entry.get('message')}")
    finally:
        driver.quit()
    for problem in problems:
        print(problem)
    print(f"{len(PAGES) * 2} pages checked, {len(problems)} problems, screenshots in {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
