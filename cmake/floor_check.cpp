// A program that does nothing: each floor of framework/ is linked whole into one of these with only
// the floors it names, so that a call into a floor above fails to link (framework/CMakeLists.txt).
int main() {
  return 0;
}
