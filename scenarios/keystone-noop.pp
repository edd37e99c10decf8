# noop set on the class declaration cascades to every resource the class contains, so the whole
# keystone catalog is compiled and evaluated but nothing is changed.
class { 'keystone':
  noop => true,
}
