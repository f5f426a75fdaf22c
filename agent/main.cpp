#include <iostream>
int main() { std::cerr << "mi-diag: not implemented yet\n"; return 2; }
