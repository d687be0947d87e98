export function reverseString(str) {
  return Array.from(str).reverse().join("");
}
