# shellcheck shell=bash
# Chromium and ChromeDriver from Debian's packages, for the dashboard's browser test.
# Meant to be sourced: `source scripts/lib/chromium.sh && setup_chromium` installs them when
# missing (as root, or with sudo) and exports ALERTA_TEST_CHROMEDRIVER and
# ALERTA_TEST_CHROMIUM for the test.

setup_chromium() {
    if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        echo "chromium: installing the Debian packages chromium and chromium-driver"
        $sudo apt-get update -qq || return 1
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null || {
            echo "chromium: installing chromium and chromium-driver failed" >&2
            return 1
        }
    fi
    export ALERTA_TEST_CHROMIUM=/usr/bin/chromium
    export ALERTA_TEST_CHROMEDRIVER=/usr/bin/chromedriver
}
