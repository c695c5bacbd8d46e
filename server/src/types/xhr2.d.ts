declare module 'xhr2' {
  const XMLHttpRequest: { new (): unknown };
  export = XMLHttpRequest;
}
