/* A fake as its own program: AD_FAKE_MAIN names which one. */
#include "fake_server.h"

int main(int argc, char **argv) { return AD_FAKE_MAIN(argc, argv); }
