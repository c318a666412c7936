// The declaration in include/ is all this target provides; libFuzzer defines the function.
#include "CFuzzerDriver.h"
