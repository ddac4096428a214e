/*
 * Arduino entry point for the harness and the unit tests on real boards (framework = arduino):
 * setup() opens the serial console, runs tg_app_main() once and prints its exit status;
 * loop() idles. Compiled only under the Arduino framework.
 */
#ifdef ARDUINO
#include <Arduino.h>

#include "tg_harness.h"

#ifndef TG_SERIAL_BAUD
#define TG_SERIAL_BAUD 115200
#endif

extern "C" void tg_port_write(const char *text)
{
    Serial.print(text);
    Serial.flush();
}

void setup()
{
    Serial.begin(TG_SERIAL_BAUD);
    const unsigned long start = millis();
    while (!Serial && millis() - start < 3000UL) {
        /* boards with native USB: wait (a while) for the host to open the port */
    }
    delay(500);
    const int status = tg_app_main();
    Serial.print("TG_EXIT status=");
    Serial.println(status);
}

void loop()
{
    delay(1000);
}
#endif
