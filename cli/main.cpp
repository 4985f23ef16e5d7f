// vmdkit: command-line entry point (the commands arrive in cli/commands/).
#include <cstdio>
int main() {
  std::fputs("vmdkit: no commands yet\n", stderr);
  return 1;
}
