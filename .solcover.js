// Coverage is measured over the protocol's contracts; test doubles are excluded.
module.exports = {
  skipFiles: ["mocks/"],
};
