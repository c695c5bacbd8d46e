/**
 * A React component made without React. A run-time OHIF extension cannot import `react` (the
 * viewer bundles its own copy and does not share it), and a second React copy would break hooks.
 * So the panel OHIF mounts is a minimal class component written against React 18's stable
 * contracts (a class with `prototype.isReactComponent`, an element as a plain object with a
 * callback ref) that renders one empty <div>; the PhaseLens UI (Preact) lives inside that div and
 * React never touches its children.
 */

/** React 18 marks elements with this symbol (react/packages/shared/ReactSymbols). */
const REACT_ELEMENT = Symbol.for('react.element');

export interface HostElement {
  $$typeof: symbol;
  type: string;
  key: null;
  ref: (node: HTMLElement | null) => void;
  props: Record<string, unknown>;
  _owner: null;
}

/** What a hosted UI does with the div it is given. */
export interface Mountable<P> {
  mount(node: HTMLElement, props: P): void;
  update(props: P): void;
  unmount(): void;
}

/** The class React constructs; `React.Component` minus what a host without state needs. */
export type HostComponent<P> = new (props: P) => {
  props: P;
  render(): HostElement;
  componentDidUpdate(): void;
  componentWillUnmount(): void;
};

export function reactHost<P>(
  create: () => Mountable<P>,
  attributes: Record<string, string> = {},
): HostComponent<P> {
  class Host {
    props: P;
    private readonly ui = create();
    private node: HTMLElement | null = null;
    // One ref function per instance, so React does not detach and re-attach it on every render.
    private readonly attach = (node: HTMLElement | null): void => {
      if (node && node !== this.node) {
        this.node = node;
        this.ui.mount(node, this.props);
      }
    };
    constructor(props: P) {
      this.props = props;
    }
    render(): HostElement {
      return {
        $$typeof: REACT_ELEMENT,
        type: 'div',
        key: null,
        ref: this.attach,
        props: { ...attributes, style: { height: '100%', overflowY: 'auto' } },
        _owner: null,
      };
    }
    componentDidUpdate(): void {
      if (this.node) this.ui.update(this.props);
    }
    componentWillUnmount(): void {
      this.ui.unmount();
      this.node = null;
    }
  }
  (Host.prototype as unknown as { isReactComponent: object }).isReactComponent = {};
  return Host;
}
